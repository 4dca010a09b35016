using EnvFabric.Core.Monitoring;
using EnvFabric.Core.Tests.Environments;
using EnvFabric.Testing;
using Microsoft.Extensions.Time.Testing;

namespace EnvFabric.Core.Tests.Monitoring;

/// <summary>The down-sampling math, and the SystemSamples table's retention on Azurite with a fake clock.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class SystemSampleStoreTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-03-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static SystemSample Raw(DateTimeOffset at, string source, double cpu, double used, double? load = null, int jobs = 0, long free = 100) => new()
    {
        At = at,
        Source = source,
        Host = "m1",
        CpuPercent = cpu,
        MemoryUsedMb = used,
        MemoryTotalMb = 1000,
        Load1 = load,
        RunningJobs = jobs,
        Slots = 4,
        DiskTotalBytes = 1000,
        DiskFreeBytes = free,
    };

    [Fact]
    public void Downsample_RowsOfTwoHoursAndSources_AveragesMaximaAndLastReadings()
    {
        var raw = new[]
        {
            Raw(Start, "runner:a", 10, 200, load: 1.0, jobs: 1, free: 500),
            Raw(Start.AddMinutes(20), "runner:a", 30, 400, load: 3.0, jobs: 3, free: 400),
            Raw(Start.AddMinutes(40), "runner:a", 50, 300, load: null, jobs: 2, free: 300),
            Raw(Start.AddMinutes(5), "host:h", 80, 700),
            Raw(Start.AddHours(1), "runner:a", 90, 900),
        };

        var hourly = SystemSampleStore.Downsample(raw);

        Assert.Equal(3, hourly.Count);
        var host = hourly[0];
        Assert.Equal(("host:h", Start, 1), (host.Source, host.At, host.Samples));
        var a = hourly[1];
        Assert.Equal(("runner:a", Start, 3), (a.Source, a.At, a.Samples));
        Assert.Equal(30, a.CpuPercent);
        Assert.Equal(50, a.CpuPercentMax);
        Assert.Equal(300, a.MemoryUsedMb);
        Assert.Equal(400, a.MemoryUsedMbMax);
        Assert.Equal(2, a.Load1);
        Assert.Equal(3, a.Load1Max);
        Assert.Equal(2, a.RunningJobs);
        Assert.Equal(3, a.RunningJobsMax);
        Assert.Equal(300, a.DiskFreeBytes);
        Assert.Equal(4, a.Slots);
        Assert.Equal(1000, a.MemoryTotalMb);
        Assert.Equal((Start.AddHours(1), 90.0, 1), (hourly[2].At, hourly[2].CpuPercent!.Value, hourly[2].Samples));

        // Summing hourly rows again weighs each by its raw rows: the average of all four of runner a.
        var again = SystemSampleStore.Downsample([a with { At = Start }, hourly[2] with { At = Start.AddMinutes(59) }]);
        Assert.Equal(45, Assert.Single(again).CpuPercent);
        Assert.Equal(90, again[0].CpuPercentMax);
        Assert.Equal(4, again[0].Samples);
    }

    [Fact]
    public async Task DownsampleAsync_SeededOldRows_WritesHourlyRowsDeletesRawAndIsIdempotent()
    {
        var context = new StorageTestContext(azurite);
        var store = new SystemSampleStore(context.Storage, context.Names);
        var clock = new FakeTimeProvider(Start);

        // Two hours of rows every 10 minutes for two sources, then a recent row.
        var seeded = new List<SystemSample>();
        for (var i = 0; i < 12; i++)
        {
            seeded.Add(Raw(Start.AddMinutes(10 * i), "runner:r1", cpu: i * 5, used: 100 + i));
            seeded.Add(Raw(Start.AddMinutes(10 * i), "host:h1", cpu: 50, used: 500));
        }

        await store.WriteAsync(seeded);
        clock.Advance(TimeSpan.FromHours(25) + TimeSpan.FromMinutes(30));
        await store.WriteAsync([Raw(clock.GetUtcNow(), "runner:r1", 1, 1)]);

        // 10:00-11:00 ended more than 24 h before 11:30 next day; 11:00-12:00 did not.
        var first = await store.DownsampleAsync(clock.GetUtcNow());

        Assert.Equal(new DownsampleResult(2, 12, 0), first);
        var hourly = await store.ReadHourlyAsync(Start);
        Assert.Equal(["host:h1", "runner:r1"], hourly.Select(h => h.Source));
        var r1 = hourly.Single(h => h.Source == "runner:r1");
        Assert.Equal((Start, 6), (r1.At, r1.Samples));
        Assert.Equal(12.5, r1.CpuPercent);
        Assert.Equal(25, r1.CpuPercentMax);
        Assert.Equal(102.5, r1.MemoryUsedMb);
        Assert.Equal(105, r1.MemoryUsedMbMax);
        var raw = await store.ReadRawAsync(Start);
        Assert.Equal(13, raw.Count);
        Assert.DoesNotContain(raw, s => s.At < Start.AddHours(1));

        // Again at once: nothing left to do, nothing changed.
        Assert.Equal(new DownsampleResult(0, 0, 0), await store.DownsampleAsync(clock.GetUtcNow()));
        Assert.Equal(2, (await store.ReadHourlyAsync(Start)).Count);

        // An hour later the second hour goes too; after a week the hourly rows expire.
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(new DownsampleResult(2, 12, 0), await store.DownsampleAsync(clock.GetUtcNow()));
        clock.Advance(TimeSpan.FromDays(7));
        // The recent row's hour is summed in the same pass (it is a week old too) and expires with the others.
        var late = await store.DownsampleAsync(clock.GetUtcNow());
        Assert.Equal(new DownsampleResult(1, 1, 5), late);
        Assert.Empty(await store.ReadRawAsync(Start));
        Assert.Empty(await store.ReadHourlyAsync(Start));
    }

    [Fact]
    public async Task DownsampleAsync_TwoHostsAtOnce_WriteEachHourOnce()
    {
        var context = new StorageTestContext(azurite);
        var one = new SystemSampleStore(context.Storage, context.Names);
        var two = new SystemSampleStore(context.Storage, context.Names);
        await one.WriteAsync(Enumerable.Range(0, 30).Select(i => Raw(Start.AddMinutes(2 * i), "runner:r1", cpu: i, used: 10)));
        var now = Start.AddHours(26);

        var results = await Task.WhenAll(one.DownsampleAsync(now), two.DownsampleAsync(now));

        Assert.Equal(1, results.Sum(r => r.HourlyWritten));
        Assert.All(results, r => Assert.InRange(r.RawDeleted, 0, 30));
        var row = Assert.Single(await one.ReadHourlyAsync(Start));
        Assert.Equal(30, row.Samples);
        Assert.Equal(14.5, row.CpuPercent);
        Assert.Empty(await one.ReadRawAsync(Start));
    }
}
