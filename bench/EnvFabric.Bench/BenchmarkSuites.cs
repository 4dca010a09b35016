using System.Globalization;

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
    public static IReadOnlyList<IBenchmarkSuite> All { get; } = [new DurableBenchmarks(), new RunnerBenchmarks(), new EnvBenchmarks(), new TaskBenchmarks()];

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
}
