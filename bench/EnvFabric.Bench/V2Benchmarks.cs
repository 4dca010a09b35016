using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;
using EnvFabric.Testing;
using Microsoft.Extensions.Options;

namespace EnvFabric.Bench;

/// <summary>
/// <c>v2</c>: seed 002's task platform through the real host and runner (venv environment from a local wheelhouse),
/// one python template whose schema renders a one-line script. Start times are the process starts the runner
/// recorded on the execution (<c>/v2/instances/{run_id}</c>).
/// <list type="bullet">
/// <item><c>v2.submit_to_start_ms.p50/.p99</c>: an idle pool; 20 submits one after another, each after the previous
/// instance completed: process start minus the moment before the POST.</item>
/// <item><c>v2.dispatch_per_s</c>: a pool of capacity 2 (pools.json, reloaded through <c>/v2/reload</c>) saturated by
/// 60 tasks submitted at once: starts per second from the first start to the last; <c>v2.saturated_runs</c> how many
/// completed.</item>
/// <item><c>v2.api_detail_p99_ms.10k</c>, <c>v2.api_status_p99_ms.10k</c>, <c>v2.api_page_p99_ms.10k</c> and
/// <c>v2.api_p99_ms</c> (the largest): reads with 10,000 tasks defined (most written straight to the table with a
/// uuid each).</item>
/// </list>
/// <c>ENVFABRIC_BENCH_QUICK=1</c> scales every count down for a smoke run.
/// </summary>
public sealed class V2Benchmarks : IBenchmarkSuite
{
    private const string Environment = "bench";
    private const string Template = "bench-python";
    private const string FarCron = "0 0 1 1 *";

    public string Name => "v2";

    private static bool Quick => System.Environment.GetEnvironmentVariable("ENVFABRIC_BENCH_QUICK") == "1";

    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        // Seed 002's 100 requests a minute per key would throttle the bench's own polling: off here.
        using var host = await BenchHost.StartAsync(
            context, "v2", [new WheelSpec("wone", "1.0")], new Dictionary<string, string> { ["AzureFunctionsJobHost__extensions__http__rateLimit__v2__requestsPerMinute"] = "0" });
        await ExpectAsync(await host.Client.PostAsJsonAsync("/api/conda/environment", new { name = Environment, python_version = "3.11", packages = new[] { "wone" } }), HttpStatusCode.Created, "create environment");
        const string Schema = """{"environment": "{{ .extra.env }}", "command": "python main.py", "script": "print({{ .value.n }})\n"}""";
        await ExpectAsync(
            await host.Client.PostAsJsonAsync("/v2/templates", new { name = Template, title = "bench", type = "python", schema = Schema, extra = new { env = Environment } }),
            HttpStatusCode.Created,
            "create template");

        await SubmitToStartAsync(context, host.Client);
        await SaturatedAsync(context, host);
        var repository = new TableTaskRepository(
            StorageAccount.FromConnectionString(context.StorageConnectionString),
            new StorageNames(Options.Create(new EnvFabricOptions { StoragePrefix = host.Prefix })),
            TimeProvider.System);
        await ApiReadsAsync(context, host.Client, repository);
    }

    private static async Task SubmitToStartAsync(BenchContext context, HttpClient http)
    {
        // One unmeasured submit warms the host's paths (template cache, first orchestration, the runner's venv).
        await InstanceAsync(http, (await SubmitAsync(http, 0, 1)).RunId, completed: true);
        var lags = new List<double>();
        for (var i = 0; i < (Quick ? 5 : 20); i++)
        {
            var before = DateTimeOffset.UtcNow;
            var (_, runId) = await SubmitAsync(http, i, 1);
            var instance = await InstanceAsync(http, runId, completed: true);
            lags.Add((DateTimeOffset.Parse(instance["start_time"]!.GetValue<string>(), CultureInfo.InvariantCulture) - before).TotalMilliseconds);
        }

        context.Report("v2.submit_to_start_ms.p50", BenchmarkSuites.Percentile(lags, 50));
        context.Report("v2.submit_to_start_ms.p99", BenchmarkSuites.Percentile(lags, 99));
    }

    private static async Task SaturatedAsync(BenchContext context, BenchHost host)
    {
        await File.WriteAllTextAsync(
            Path.Combine(host.Share.Path, "data", "pools.json"),
            """{"pools": [{"name": "default", "capacity": 2}], "queues": [{"name": "default", "pool": "default"}]}""");
        using (var reload = await host.Client.PostAsync(new Uri("/v2/reload", UriKind.Relative), null))
        {
            await ExpectAsync(reload, HttpStatusCode.OK, "reload");
        }

        var count = Quick ? 12 : 60;
        var runs = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            runs.Add((await SubmitAsync(host.Client, i, i % 5)).RunId));
        var starts = new List<DateTimeOffset>();
        foreach (var runId in runs)
        {
            var instance = await InstanceAsync(host.Client, runId, completed: true);
            starts.Add(DateTimeOffset.Parse(instance["start_time"]!.GetValue<string>(), CultureInfo.InvariantCulture));
        }

        starts.Sort();
        var span = (starts[^1] - starts[0]).TotalSeconds;
        context.Report("v2.saturated_runs", starts.Count);
        context.Report("v2.dispatch_per_s", span > 0 ? (starts.Count - 1) / span : double.NaN);
    }

    private static async Task ApiReadsAsync(BenchContext context, HttpClient http, TableTaskRepository repository)
    {
        var total = Quick ? 1000 : 10_000;
        var uuids = new ConcurrentBag<string>();
        await BenchTasks.FillAsync(repository, total, FarCron, id =>
        {
            var uuid = Guid.NewGuid().ToString();
            uuids.Add(uuid);
            return new TaskRecord { TaskId = id, Uuid = uuid, Template = Template, Name = "listed" + id.ToString(CultureInfo.InvariantCulture), Environment = Environment, Prior = (int)(id % 10) };
        });

        var known = uuids.ToArray();
        var random = new Random(5);
        var detail = await BenchmarkSuites.TimeGetsAsync(http, 20, 200, _ => $"/v2/tasks/{known[random.Next(known.Length)]}");
        var status = await BenchmarkSuites.TimeGetsAsync(http, 20, 200, _ => $"/v2/tasks/{known[random.Next(known.Length)]}/status");
        var page = await BenchmarkSuites.TimeGetsAsync(http, 5, 50, _ => "/v2/tasks?page=1&size=20");
        var p99s = new[] { BenchmarkSuites.Percentile(detail, 99), BenchmarkSuites.Percentile(status, 99), BenchmarkSuites.Percentile(page, 99) };
        context.Report("v2.api_detail_p99_ms.10k", p99s[0]);
        context.Report("v2.api_status_p99_ms.10k", p99s[1]);
        context.Report("v2.api_page_p99_ms.10k", p99s[2]);
        context.Report("v2.api_p99_ms", p99s.Max());
    }

    private static async Task<(string Uuid, string RunId)> SubmitAsync(HttpClient http, int n, int prior)
    {
        using var response = await http.PostAsJsonAsync("/v2/tasks", new { template = Template, value = new { n }, prior });
        var text = await response.Content.ReadAsStringAsync();
        var body = response.IsSuccessStatusCode ? JsonNode.Parse(text) : null;
        if (body?["data"]?["run_id"]?.GetValue<string>() is not { Length: > 0 } runId)
        {
            throw new InvalidOperationException($"submit: {(int)response.StatusCode} {text}");
        }

        return (body["data"]!["uuid"]!.GetValue<string>(), runId);
    }

    /// <summary>Polls the instance (every 10 ms) until it exists and, with <paramref name="completed"/>, has completed.</summary>
    private static async Task<JsonNode> InstanceAsync(HttpClient http, string runId, bool completed)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        string? last = null;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.GetAsync(new Uri($"/v2/instances/{runId}", UriKind.Relative));
            last = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK && JsonNode.Parse(last)!["data"] is { } data)
            {
                var state = data["status"]?.GetValue<string>();
                if (!completed || state == ExecutionStatuses.Completed)
                {
                    return data;
                }

                if (ExecutionStatuses.IsFinal(state))
                {
                    throw new InvalidOperationException($"instance {runId} ended {state}: {last}");
                }
            }

            await Task.Delay(10);
        }

        throw new TimeoutException($"instance {runId}: not completed in 5 min; last: {last}");
    }

    private static async Task ExpectAsync(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        using (response)
        {
            if (response.StatusCode != expected && !(expected == HttpStatusCode.Created && response.StatusCode == HttpStatusCode.OK))
            {
                throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }
    }
}
