using EnvFabric.Runner.Processes;

namespace EnvFabric.Runner.Tests;

public sealed class JobMetricsTests
{
    private const long Mb = 1024 * 1024;

    [Fact]
    public void ProcessEnded_ReportAboveTheSamples_PeakAndCpuFromTheReport()
    {
        var metrics = new JobMetrics();
        metrics.Record(10 * Mb, 12 * Mb, 0.5);

        metrics.ProcessEnded(new ReaperReport(200 * Mb, 0.75, 0, 0));

        Assert.Equal(200, metrics.PeakMemoryMb);
        Assert.Equal(0.75, metrics.CpuSeconds, 6);
        Assert.Equal(10, metrics.AverageMemoryMb);
        Assert.Equal(0, metrics.CurrentMemoryMb);
    }

    [Fact]
    public void ProcessEnded_SampledTreeAboveTheReport_SampledPeakKept()
    {
        // ru_maxrss is the largest single process; two at once in the tree sum to more.
        var metrics = new JobMetrics();
        metrics.Record(300 * Mb, 160 * Mb, 1.0);

        metrics.ProcessEnded(new ReaperReport(160 * Mb, 1.25, 0, 0));

        Assert.Equal(300, metrics.PeakMemoryMb);
        Assert.Equal(1.25, metrics.CpuSeconds, 6);
    }

    [Fact]
    public void ProcessEnded_WithoutReport_LastSampleStands()
    {
        var metrics = new JobMetrics();
        metrics.Record(40 * Mb, 50 * Mb, 2.0);

        metrics.ProcessEnded(null);

        Assert.Equal(50, metrics.PeakMemoryMb);
        Assert.Equal(2.0, metrics.CpuSeconds, 6);
    }

    [Fact]
    public void ProcessEnded_NeverSampled_AverageIsThePeakAndProcessesAddUp()
    {
        var metrics = new JobMetrics();

        metrics.ProcessEnded(new ReaperReport(200 * Mb, 0.1, 0, 0));
        metrics.ProcessEnded(new ReaperReport(20 * Mb, 0.2, 0, 0));

        Assert.Equal(200, metrics.PeakMemoryMb);
        Assert.Equal(200, metrics.AverageMemoryMb);
        Assert.Equal(0.3, metrics.CpuSeconds, 6);
    }
}
