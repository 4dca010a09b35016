using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Azure.Data.Tables;
using EnvFabric.Testing;

namespace EnvFabric.Bench;

/// <summary>
/// <c>envs</c>: the functions host and the runner as child processes (real Kestrel, real runner) on Azurite,
/// venv backend, a local wheelhouse.
/// <list type="bullet">
/// <item><c>envs.create3.seconds.p50</c>: <c>POST /api/conda/environment</c> with 3 small packages, call to
/// 201 (environment ready), 7 environments after one warm-up.</item>
/// <item><c>envs.list1000.latency_ms.p99</c>: <c>GET /api/conda/environments</c> with 1000 environments, 200 calls.</item>
/// </list>
/// </summary>
public sealed class EnvBenchmarks : IBenchmarkSuite
{
    private const string Key = "bench-master-key-0123456789abcdef";

    public string Name => "envs";

    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var share = new TempDirectory("envfabric-bench-envs");
        var wheels = Path.Combine(share.Path, "wheelhouse");
        Wheelhouse.Create(wheels, new WheelSpec("wone", "1.0"), new WheelSpec("wtwo", "1.0"), new WheelSpec("wthree", "1.0"));
        var prefix = AzuriteFixture.UniqueName("v");
        var port = AzuriteFixture.FreePort();
        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = context.StorageConnectionString,
            ["DATA_ROOT"] = Path.Combine(share.Path, "data"),
            ["ENVFABRIC_STORAGE_PREFIX"] = prefix,
            ["AzureFunctionsJobHost__extensions__durableTask__hubName"] = "benv" + Guid.NewGuid().ToString("N")[..10],
            ["AzureFunctionsJobHost__extensions__http__rateLimit__requestsPerMinute"] = "0",
            ["FUNCTIONS_MASTER_KEY"] = Key,
            ["PIP_NO_INDEX"] = "true",
            ["PIP_FIND_LINKS"] = wheels,
            ["ENV_BACKEND"] = "venv",
            ["CLEANUP_IDLE_HOURS"] = "0",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        using var functions = Start("EnvFabric.Functions.dll", settings);
        using var runner = Start("EnvFabric.Runner.dll", settings);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(5) };
            http.DefaultRequestHeaders.Add("x-functions-key", Key);
            await WaitReadyAsync(http, functions, runner, context.StorageConnectionString, prefix);

            async Task<double> CreateAsync(string name)
            {
                var watch = Stopwatch.StartNew();
                using var response = await http.PostAsJsonAsync("/api/conda/environment", new { name, python_version = "3.11", packages = new[] { "wone", "wtwo==1.0", "wthree>=1.0" } });
                var seconds = watch.Elapsed.TotalSeconds;
                if (response.StatusCode != HttpStatusCode.Created)
                {
                    throw new InvalidOperationException($"create {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }

                return seconds;
            }

            await CreateAsync("warm");
            var creates = new List<double>();
            for (var i = 0; i < 7; i++)
            {
                creates.Add(await CreateAsync($"bench{i}"));
            }

            context.Report("envs.create3.seconds.p50", BenchmarkSuites.Percentile(creates, 50));

            // 1000 environments: the 8 real ones plus rows written in batches (the list reads the table only).
            var table = new TableClient(context.StorageConnectionString, prefix + "Environments");
            var now = DateTimeOffset.UtcNow;
            for (var batch = 0; batch < 10; batch++)
            {
                var actions = Enumerable.Range(0, 100).Where(i => batch * 100 + i < 992).Select(i => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("env", $"listed{batch * 100 + i:D4}")
                {
                    ["Backend"] = "venv",
                    ["PythonVersion"] = "3.11.9",
                    ["RequestedSpecs"] = "[\"wone\"]",
                    ["PackageCount"] = 3,
                    ["Status"] = "ready",
                    ["CreatedAt"] = now,
                    ["UpdatedAt"] = now,
                    ["LastUsedAt"] = now,
                    ["Path"] = "/share/envs/listed",
                    ["PackagesChunks"] = 1,
                    ["Packages0"] = "[[\"wone\",\"1.0\"],[\"wtwo\",\"1.0\"],[\"wthree\",\"1.0\"]]",
                })).ToList();
                if (actions.Count > 0)
                {
                    await table.SubmitTransactionAsync(actions);
                }
            }

            var latencies = new List<double>();
            for (var i = 0; i < 220; i++)
            {
                var watch = Stopwatch.StartNew();
                using var response = await http.GetAsync(new Uri("/api/conda/environments", UriKind.Relative));
                var body = await response.Content.ReadAsByteArrayAsync();
                var ms = watch.Elapsed.TotalMilliseconds;
                if (response.StatusCode != HttpStatusCode.OK || body.Length < 1000)
                {
                    throw new InvalidOperationException($"list: {(int)response.StatusCode}");
                }

                if (i >= 20)
                {
                    latencies.Add(ms);
                }
            }

            context.Report("envs.list1000.latency_ms.p50", BenchmarkSuites.Percentile(latencies, 50));
            context.Report("envs.list1000.latency_ms.p99", BenchmarkSuites.Percentile(latencies, 99));
        }
        finally
        {
            Stop(functions);
            Stop(runner);
        }
    }

    private static Process Start(string dll, Dictionary<string, string> settings) =>
        DotnetProcess.Start(dll, settings, RepoPaths.Root, line => Console.Error.WriteLine($"[{dll}] {line}"));

    private static async Task WaitReadyAsync(HttpClient http, Process functions, Process runner, string storage, string prefix)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        var runners = new TableClient(storage, prefix + "Runners");
        while (DateTime.UtcNow < deadline)
        {
            if (functions.HasExited || runner.HasExited)
            {
                throw new InvalidOperationException("the host or the runner exited during start-up");
            }

            try
            {
                using var response = await http.GetAsync(new Uri("/api/conda/environments", UriKind.Relative));
                var registered = false;
                await foreach (var _ in runners.QueryAsync<TableEntity>(maxPerPage: 1))
                {
                    registered = true;
                    break;
                }

                if (response.StatusCode == HttpStatusCode.OK && registered)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or Azure.RequestFailedException or TaskCanceledException)
            {
                // Not listening or not registered yet.
            }

            await Task.Delay(250);
        }

        throw new TimeoutException("the host and runner were not ready within 120 s");
    }

    private static void Stop(Process process) => DotnetProcess.Kill(process);
}
