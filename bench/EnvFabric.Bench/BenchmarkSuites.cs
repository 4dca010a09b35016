using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace EnvFabric.Bench;

/// <summary>A named group of measurements; each prints <c>name=value</c> lines.</summary>
public interface IBenchmarkSuite
{
    string Name { get; }

    Task RunAsync(BenchContext context);
}

public sealed record BenchContext(string StorageConnectionString, TextWriter Output)
{
    public void Report(string name, double value) =>
        Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}={value:0.###}"));
}

public static class BenchmarkSuites
{
    /// <summary>Every suite <c>bench/run</c> knows; suites add themselves here.</summary>
    public static IReadOnlyList<IBenchmarkSuite> All { get; } = [new DurableBenchmarks(), new RunnerBenchmarks(), new EnvBenchmarks(), new TaskBenchmarks(), new V2Benchmarks(), new ConsoleBenchmarks()];

    /// <summary>The value at <paramref name="percentile"/> (0-100) of <paramref name="values"/>.</summary>
    public static double Percentile(IReadOnlyList<double> values, double percentile)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    /// <summary>Latencies (ms, body read) of <paramref name="measured"/> GETs after <paramref name="warmUp"/> unmeasured ones.</summary>
    public static async Task<List<double>> TimeGetsAsync(HttpClient http, int warmUp, int measured, Func<int, string> path)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(path);
        var latencies = new List<double>();
        for (var i = 0; i < warmUp + measured; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await http.GetAsync(new Uri(path(i), UriKind.Relative));
            await response.Content.ReadAsByteArrayAsync();
            var ms = watch.Elapsed.TotalMilliseconds;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"GET {path(i)}: {(int)response.StatusCode}");
            }

            if (i >= warmUp)
            {
                latencies.Add(ms);
            }
        }

        return latencies;
    }
}
