using EnvFabric.Core.Monitoring;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Monitoring;

/// <summary>The /proc readers over sample text (as a 2-CPU Linux machine writes it), and their answers where /proc is missing.</summary>
public sealed class HostFiguresTests : IDisposable
{
    private const string StatBefore = "cpu  4705 150 1120 16250 520 0 30 0 0 0\ncpu0 2350 75 560 8125 260 0 15 0 0 0\ncpu1 2355 75 560 8125 260 0 15 0 0 0\nintr 114930548 113199788 3 0 5 263 0 4\nctxt 1990473\nbtime 1062191376\n";
    private const string StatAfter = "cpu  4905 150 1220 16450 570 0 30 0 0 0\ncpu0 2450 75 610 8225 285 0 15 0 0 0\ncpu1 2455 75 610 8225 285 0 15 0 0 0\nintr 114930548 113199788 3 0 5 263 0 4\n";
    private readonly TempDirectory _dir = new("envfabric-proc");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void CpuTimesParse_CpuLine_BusyIsAllButIdleAndIowait()
    {
        var times = CpuTimes.Parse(StatBefore)!;

        Assert.Equal(4705 + 150 + 1120 + 30, times.Busy);
        Assert.Equal(4705 + 150 + 1120 + 16250 + 520 + 30, times.Total);
    }

    [Fact]
    public void PercentSince_TwoReadings_IsBusyShareOfTheDelta()
    {
        var before = CpuTimes.Parse(StatBefore)!;
        var after = CpuTimes.Parse(StatAfter)!;

        // busy +300 (user 200, system 100) of total +550 (idle 200, iowait 50).
        Assert.Equal(54.5, after.PercentSince(before));
        Assert.Null(before.PercentSince(before));
        Assert.Null(before.PercentSince(after));
    }

    [Theory]
    [InlineData("")]
    [InlineData("intr 1 2 3\n")]
    [InlineData("cpu  12 x 3 4 5\n")]
    [InlineData("cpu 1 2\n")]
    public void CpuTimesParse_Malformed_IsNull(string text) => Assert.Null(CpuTimes.Parse(text));

    [Fact]
    public void CpuUsageSampler_FirstCallNullThenDelta_AndNullWithoutTheFile()
    {
        var path = Path.Combine(_dir.Path, "stat");
        File.WriteAllText(path, StatBefore);
        var sampler = new CpuUsageSampler(path);

        Assert.Null(sampler.Sample());
        File.WriteAllText(path, StatAfter);
        Assert.Equal(54.5, sampler.Sample());

        // No tick since: the same figure again, measured from the same baseline.
        Assert.Equal(54.5, sampler.Sample());

        Assert.Null(new CpuUsageSampler(Path.Combine(_dir.Path, "missing")).Sample());
    }

    [Fact]
    public void LoadAverageParse_LoadavgLine_ThreeFigures()
    {
        var load = LoadAverage.Parse("0.52 1.58 12.09 2/1234 5678\n")!;

        Assert.Equal([0.52, 1.58, 12.09], load.ToList());
        Assert.Null(LoadAverage.Parse("0.52 x 0.59 2/1234 5678"));
        Assert.Null(LoadAverage.Parse("0.52"));
        Assert.Null(LoadAverage.Read(Path.Combine(_dir.Path, "missing")));
    }

    [Fact]
    public void Read_ThisMachine_PlausibleFigures()
    {
        // These machines are Linux: /proc is there, so every figure is read and each is plausible.
        var cpu = new CpuUsageSampler();
        cpu.Sample();

        var figures = HostFigures.Read(cpu, _dir.Path);

        // The CPU figure is null when no clock tick passed between the two readings.
        Assert.InRange(figures.CpuPercent ?? 0, 0, 100);
        Assert.True(figures.MemoryUsedMb > 0 && figures.MemoryUsedMb <= figures.MemoryTotalMb, $"{figures.MemoryUsedMb} of {figures.MemoryTotalMb}");
        Assert.NotNull(figures.Load);
        var disk = Assert.Single(figures.Disks);
        Assert.Equal(_dir.Path, disk.Path);
        Assert.True(disk.TotalBytes > 0 && disk.FreeBytes >= 0 && disk.FreeBytes <= disk.TotalBytes);
    }

    [Fact]
    public void DiskSpaceRead_MissingDirectory_UsesNearestExistingParent()
    {
        var disk = DiskSpace.Read(Path.Combine(_dir.Path, "not", "yet"));

        Assert.NotNull(disk);
        Assert.Equal(DiskSpace.Read(_dir.Path)!.TotalBytes, disk.TotalBytes);
    }
}
