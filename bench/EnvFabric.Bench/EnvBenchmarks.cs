using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
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
    public string Name => "envs";

    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var host = await BenchHost.StartAsync(context, "envs", [new WheelSpec("wone", "1.0"), new WheelSpec("wtwo", "1.0"), new WheelSpec("wthree", "1.0")]);
        var http = host.Client;
        var prefix = host.Prefix;

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
        await BenchEnvironments.FillAsync(context.StorageConnectionString, prefix, "listed", 992);

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
}
