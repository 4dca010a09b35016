using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;
using EnvFabric.Testing;
using Microsoft.Extensions.Options;

namespace EnvFabric.Bench;

/// <summary>
/// <c>tasks</c>: seed 003's tasks through the real host and runner (venv environment from a local wheelhouse).
/// Times of executions come from the <c>Executions</c> table (process start and due time, sub-millisecond).
/// <list type="bullet">
/// <item><c>tasks.sequential40.seconds</c>: one task triggered 40 times, each trigger after the previous execution
/// completed (detail polled every 20 ms), first trigger to last completion; median of 3.</item>
/// <item><c>tasks.cron_fire_to_start_ms.p50/.p99</c>: 20 tasks on <c>* * * * * *</c> for 15 s, process start minus
/// due time per execution; <c>tasks.cron_early_starts</c> counts starts before their due time.</item>
/// <item><c>tasks.log_to_sse_ms.p50/.p99</c>: a script printing its <c>time.time()</c> every 200 ms, read through
/// the logs SSE stream: receive time minus print time per line.</item>
/// <item><c>tasks.host_rss_mb.1k_scheduled</c>: the host's VmRSS once 1,000 cron tasks made through the API have
/// their Schedule orchestrations running, after a 10 s settle.</item>
/// <item><c>tasks.api_detail_p99_ms.10k</c>, <c>tasks.api_page_p99_ms.10k</c>, <c>tasks.api_p99_ms.10k</c> (the
/// larger), <c>tasks.list_all_ms.10k</c>: reads with 10,000 tasks defined (most written straight to the table).</item>
/// </list>
/// <c>ENVFABRIC_BENCH_QUICK=1</c> scales every count down for a smoke run (the figures are then not comparable).
/// </summary>
public sealed class TaskBenchmarks : IBenchmarkSuite
{
    private const string Environment = "bench";
    private const string FarCron = "0 0 1 1 *";

    public string Name => "tasks";

    private static bool Quick => System.Environment.GetEnvironmentVariable("ENVFABRIC_BENCH_QUICK") == "1";

    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var host = await BenchHost.StartAsync(context, "tasks", [new WheelSpec("wone", "1.0")]);
        using (var env = await host.Client.PostAsJsonAsync("/api/conda/environment", new { name = Environment, python_version = "3.11", packages = new[] { "wone" } }))
        {
            if (env.StatusCode != HttpStatusCode.Created)
            {
                throw new InvalidOperationException($"create environment: {(int)env.StatusCode} {await env.Content.ReadAsStringAsync()}");
            }
        }

        var repository = new TableTaskRepository(
            StorageAccount.FromConnectionString(context.StorageConnectionString),
            new StorageNames(Options.Create(new EnvFabricOptions { StoragePrefix = host.Prefix })),
            TimeProvider.System);

        await SequentialAsync(context, host.Client);
        await CronAsync(context, host.Client, repository);
        await LogStreamAsync(context, host.Client);
        var created = await ScheduledRssAsync(context, host, context.StorageConnectionString);
        await ApiReadsAsync(context, host.Client, repository, created);
    }

    private static async Task SequentialAsync(BenchContext context, HttpClient http)
    {
        var triggers = Quick ? 10 : 40;
        var id = await CreateTaskAsync(http, "sequential", "print(1)\n", []);
        var finished = 1;
        await WaitAsync(http, id, d => Finished(d) >= finished && Status(d) != TaskStatuses.Running, TimeSpan.FromMilliseconds(20));
        var runs = new List<double>();
        for (var run = 0; run < (Quick ? 1 : 3); run++)
        {
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < triggers; i++)
            {
                await TriggerAsync(http, id);
                finished++;
                var detail = await WaitAsync(http, id, d => Finished(d) >= finished && Status(d) != TaskStatuses.Running, TimeSpan.FromMilliseconds(20));
                var newest = detail["execution_history"]!.AsArray()[0]!["status"]!.GetValue<string>();
                if (newest != ExecutionStatuses.Completed)
                {
                    throw new InvalidOperationException($"sequential run {finished}: {newest}");
                }
            }

            runs.Add(watch.Elapsed.TotalSeconds);
        }

        context.Report("tasks.sequential40.seconds", BenchmarkSuites.Percentile(runs, 50));
    }

    private static async Task CronAsync(BenchContext context, HttpClient http, TableTaskRepository repository)
    {
        var count = Quick ? 5 : 20;
        var ids = new ConcurrentBag<long>();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
            ids.Add(await CreateTaskAsync(http, $"cron{i}", "print(1)\n", new() { ["cron_expression"] = "* * * * * *" })));
        await Task.Delay(TimeSpan.FromSeconds(Quick ? 6 : 15));
        foreach (var id in ids)
        {
            using var stopped = await http.PostAsync(new Uri($"/api/tasks/{id}/stop", UriKind.Relative), null);
        }

        // Let the runs already started finish and record their times.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var lags = new List<double>();
        var skipped = 0;
        foreach (var id in ids)
        {
            foreach (var e in await repository.ListExecutionsAsync(id))
            {
                if (e.Status == ExecutionStatuses.Skipped)
                {
                    skipped++;
                }
                else if (ExecutionStatuses.IsFinal(e.Status) && e.StartTime is { } start)
                {
                    lags.Add((start - e.DueAt).TotalMilliseconds);
                }
            }
        }

        context.Report("tasks.cron_executions", lags.Count);
        context.Report("tasks.cron_skipped", skipped);
        context.Report("tasks.cron_fire_to_start_ms.p50", BenchmarkSuites.Percentile(lags, 50));
        context.Report("tasks.cron_fire_to_start_ms.p99", BenchmarkSuites.Percentile(lags, 99));
        context.Report("tasks.cron_early_starts", lags.Count(l => l < 0));
    }

    private static async Task LogStreamAsync(BenchContext context, HttpClient http)
    {
        // The first second of sleep lets the stream open before the first line.
        const string Script = "import time\ntime.sleep(1.0)\nfor i in range(30):\n    print(f'ts={time.time():.6f}', flush=True)\n    time.sleep(0.2)\n";
        var id = await CreateTaskAsync(http, "logger", Script, []);
        var detail = await WaitAsync(http, id, d => d["execution_history"]!.AsArray().Count > 0, TimeSpan.FromMilliseconds(20));
        var executionId = detail["execution_history"]!.AsArray()[0]!["execution_id"]!.GetValue<string>();
        using var response = await http.GetAsync(new Uri($"/api/tasks/{id}/executions/{executionId}/logs?stream=true", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var lags = new List<double>();
        var first = true;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            var received = (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;
            var sse = JsonNode.Parse(line[6..])!;
            // The first event is the backlog at connect time, not a delivery.
            if (!first)
            {
                foreach (var printed in sse["logs"]!.GetValue<string>().Split('\n'))
                {
                    if (printed.StartsWith("ts=", StringComparison.Ordinal) && double.TryParse(printed[3..], NumberStyles.Float, CultureInfo.InvariantCulture, out var at))
                    {
                        lags.Add((received - at) * 1000);
                    }
                }
            }

            first = false;
            if (sse["is_complete"]!.GetValue<bool>())
            {
                break;
            }
        }

        context.Report("tasks.log_lines", lags.Count);
        context.Report("tasks.log_to_sse_ms.p50", BenchmarkSuites.Percentile(lags, 50));
        context.Report("tasks.log_to_sse_ms.p99", BenchmarkSuites.Percentile(lags, 99));
    }

    private static async Task<List<long>> ScheduledRssAsync(BenchContext context, BenchHost host, string storage)
    {
        var count = Quick ? 100 : 1000;
        var ids = new ConcurrentBag<long>();
        var creates = new ConcurrentBag<double>();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var watch = Stopwatch.StartNew();
            ids.Add(await CreateTaskAsync(host.Client, $"scheduled{i}", "print(1)\n", new() { ["cron_expression"] = FarCron }));
            creates.Add(watch.Elapsed.TotalMilliseconds);
        });
        context.Report("tasks.create_ms.p50", BenchmarkSuites.Percentile([.. creates], 50));

        // Running Schedule orchestrations of these tasks, from the hub's instances table.
        var wanted = ids.Select(id => "schedule-" + id.ToString(CultureInfo.InvariantCulture)).ToHashSet(StringComparer.Ordinal);
        var instances = new TableClient(storage, host.HubName + "Instances");
        var running = 0;
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            running = 0;
            await foreach (var row in instances.QueryAsync<TableEntity>("PartitionKey ge 'schedule-' and PartitionKey lt 'schedule.' and RuntimeStatus eq 'Running'", select: ["PartitionKey"]))
            {
                running += wanted.Contains(row.PartitionKey) ? 1 : 0;
            }

            if (running >= count)
            {
                break;
            }

            await Task.Delay(1000);
        }

        context.Report("tasks.schedules_running.1k", running);
        await Task.Delay(TimeSpan.FromSeconds(10));
        var rss = File.ReadLines($"/proc/{host.Functions.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        var kb = double.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        context.Report("tasks.host_rss_mb.1k_scheduled", kb / 1024);
        return [.. ids];
    }

    private static async Task ApiReadsAsync(BenchContext context, HttpClient http, TableTaskRepository repository, List<long> created)
    {
        var total = Quick ? 1000 : 10_000;
        var inserted = await BenchTasks.FillAsync(repository, total, FarCron, id => new TaskRecord { TaskId = id, Name = "listed" + id.ToString(CultureInfo.InvariantCulture), Environment = Environment });

        var ids = created.Concat(inserted).ToArray();
        var random = new Random(3);
        var detail = await BenchmarkSuites.TimeGetsAsync(http, 20, 200, _ => $"/api/tasks/{ids[random.Next(ids.Length)]}");
        var page = await BenchmarkSuites.TimeGetsAsync(http, 5, 50, _ => "/api/tasks?page=1&size=50");
        var all = await BenchmarkSuites.TimeGetsAsync(http, 1, 5, _ => "/api/tasks");
        var detailP99 = BenchmarkSuites.Percentile(detail, 99);
        var pageP99 = BenchmarkSuites.Percentile(page, 99);
        context.Report("tasks.api_detail_p99_ms.10k", detailP99);
        context.Report("tasks.api_page_p99_ms.10k", pageP99);
        context.Report("tasks.api_p99_ms.10k", Math.Max(detailP99, pageP99));
        context.Report("tasks.list_all_ms.10k", BenchmarkSuites.Percentile(all, 50));
    }

    /// <summary>Creates a task through <c>POST /api/tasks</c> (multipart, the script as main.py) and returns its id.</summary>
    internal static async Task<long> CreateTaskAsync(HttpClient http, string name, string script, Dictionary<string, string> fields, string environment = Environment)
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(script));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/x-python");
        form.Add(file, "script_file", "main.py");
        form.Add(new StringContent(environment), "conda_env");
        form.Add(new StringContent(name), "task_name");
        foreach (var (key, value) in fields)
        {
            form.Add(new StringContent(value), key);
        }

        using var response = await http.PostAsync(new Uri("/api/tasks", UriKind.Relative), form);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"create task {name}: {(int)response.StatusCode} {text}");
        }

        return JsonNode.Parse(text)!["task"]!["task_id"]!.GetValue<long>();
    }

    /// <summary>POSTs a trigger, retrying briefly while the task still shows its previous run.</summary>
    private static async Task TriggerAsync(HttpClient http, long id)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var response = await http.PostAsync(new Uri($"/api/tasks/{id}/trigger", UriKind.Relative), null);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            if (attempt == 100)
            {
                throw new InvalidOperationException($"trigger {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }

            await Task.Delay(20);
        }
    }

    private static async Task<JsonNode> WaitAsync(HttpClient http, long id, Func<JsonNode, bool> done, TimeSpan poll)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.GetAsync(new Uri($"/api/tasks/{id}", UriKind.Relative));
            last = JsonNode.Parse(await response.Content.ReadAsStringAsync());
            if (response.StatusCode == HttpStatusCode.OK && done(last!))
            {
                return last!;
            }

            await Task.Delay(poll);
        }

        throw new TimeoutException($"task {id}: condition not reached in 2 min; last: {last?.ToJsonString()}");
    }

    private static string? Status(JsonNode detail) => detail["task"]?["status"]?.GetValue<string>();

    private static int Finished(JsonNode detail) =>
        detail["execution_history"]!.AsArray().Count(e => ExecutionStatuses.IsFinal(e!["status"]!.GetValue<string>()));
}
