using System.Net;
using System.Text.Json.Nodes;
using EnvFabric.Core.Monitoring;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary><c>GET /api/system/stats</c> over HTTP with the real runner's heartbeat and the one sampler.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class MonitorApiTests(AzuriteFixture azurite)
{
    private static void AssertPlausible(JsonNode figures, string what)
    {
        var text = what + ": " + figures.ToJsonString();
        Assert.InRange(figures["cpu_percent"]!.GetValue<double>(), 0, 100);
        var used = figures["memory_used_mb"]!.GetValue<double>();
        Assert.True(used > 0 && used <= figures["memory_total_mb"]!.GetValue<double>(), text);
        Assert.Equal(3, figures["load_avg"]!.AsArray().Count);
        Assert.All(figures["load_avg"]!.AsArray(), l => Assert.True(l!.GetValue<double>() >= 0, text));
    }

    private static void AssertDisk(JsonNode disk, string what)
    {
        var total = disk["total_bytes"]!.GetValue<long>();
        var free = disk["free_bytes"]!.GetValue<long>();
        Assert.True(total > 0 && free >= 0 && free <= total, what + ": " + disk.ToJsonString());
    }

    [Fact]
    public async Task Stats_AfterHeartbeatAndSample_ShowHostRunnerShareAndSeries()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        var runnerId = "r" + host.Prefix;

        // The runner's CPU figure is a delta between heartbeats (every second here): wait for one that has it.
        JsonNode? runner = null;
        Assert.True(
            await EnvironmentHostForTests.EventuallyAsync(
                async () =>
                {
                    var (_, body) = await host.SendAsync(HttpMethod.Get, "/api/system/stats");
                    runner = body?["runners"]?.AsArray().SingleOrDefault(r => r!["runner_id"]!.GetValue<string>() == runnerId);
                    return runner?["cpu_percent"] is not null;
                },
                TimeSpan.FromSeconds(60)),
            "no runner heartbeat with a CPU figure: " + runner?.ToJsonString());

        // One sample now (the sampler took its first, the host's CPU baseline, when the host started): the host and the runner.
        var sampler = host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<SystemSampler>().Single();
        Assert.Equal(2, await sampler.SampleAsync(CancellationToken.None));

        var (response, stats) = await host.SendAsync(HttpMethod.Get, "/api/system/stats");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(stats!["success"]!.GetValue<bool>());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", stats["sampled_at"]!.GetValue<string>());

        var hostNode = stats["host"]!;
        AssertPlausible(hostNode, "host");
        Assert.Equal(host.Share.Path, hostNode["disk"]!["path"]!.GetValue<string>());
        AssertDisk(hostNode["disk"]!, "host disk");
        AssertDisk(stats["share"]!, "share");

        runner = stats["runners"]!.AsArray().Single(r => r!["runner_id"]!.GetValue<string>() == runnerId)!;
        Assert.True(runner["alive"]!.GetValue<bool>());
        AssertPlausible(runner, "runner");
        Assert.Equal(0, runner["running_jobs"]!.GetValue<int>());
        Assert.True(runner["slots"]!.GetValue<int>() >= 1);
        var disks = runner["disks"]!.AsArray();
        Assert.Equal(["share", "envs", "work"], disks.Select(d => d!["role"]!.GetValue<string>()));
        Assert.All(disks, d => AssertDisk(d!, "runner disk"));
        Assert.Equal(host.Share.Path, disks[0]!["path"]!.GetValue<string>());

        var series = stats["series"]!;
        Assert.Equal("1h", series["range"]!.GetValue<string>());
        Assert.Equal(10, series["interval_seconds"]!.GetValue<int>());
        var points = series["points"]!.AsArray();
        var runnerPoint = points.Last(p => p!["source"]!.GetValue<string>() == "runner:" + runnerId)!;
        Assert.True(runnerPoint["memory_used_mb"]!.GetValue<double>() > 0);
        Assert.Equal(runner["slots"]!.GetValue<int>(), runnerPoint["slots"]!.GetValue<int>());
        var hostPoint = points.Last(p => p!["source"]!.GetValue<string>() == hostNode["source"]!.GetValue<string>())!;
        Assert.InRange(hostPoint["cpu_percent"]!.GetValue<double>(), 0, 100);
        Assert.True(hostPoint["disk_free_bytes"]!.GetValue<long>() <= hostPoint["disk_total_bytes"]!.GetValue<long>());

        // A source filter keeps only that source's points; the week is hourly, the current hour summed on the fly.
        var (_, filtered) = await host.SendAsync(HttpMethod.Get, "/api/system/stats?range=6h&source=runner:" + runnerId);
        Assert.All(filtered!["series"]!["points"]!.AsArray(), p => Assert.Equal("runner:" + runnerId, p!["source"]!.GetValue<string>()));
        Assert.NotEmpty(filtered["series"]!["points"]!.AsArray());
        var (_, week) = await host.SendAsync(HttpMethod.Get, "/api/system/stats?range=7d");
        Assert.Equal(3600, week!["series"]!["interval_seconds"]!.GetValue<int>());
        var hourly = week["series"]!["points"]!.AsArray().Last(p => p!["source"]!.GetValue<string>() == "runner:" + runnerId)!;
        Assert.True(hourly["samples"]!.GetValue<int>() >= 1);
        Assert.True(hourly["memory_used_mb_max"]!.GetValue<double>() >= hourly["memory_used_mb"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("range=2h", "Invalid range")]
    [InlineData("range=", null)]
    [InlineData("source=nobody", "Invalid source")]
    public async Task Stats_BadQuery_Is400InSeedFormat(string query, string? message)
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);

        var (response, body) = await host.SendAsync(HttpMethod.Get, "/api/system/stats?" + query);

        if (message is null)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("1h", body!["series"]!["range"]!.GetValue<string>());
            return;
        }

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(body!["success"]!.GetValue<bool>());
        Assert.Equal(message, body["message"]!.GetValue<string>());
        Assert.NotNull(body["error"]);
    }

    [Fact]
    public async Task Sampler_SeededOldRows_DownsampledThroughTheHostsStore()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);
        var store = host.Services.GetRequiredService<SystemSampleStore>();
        var hour = SystemSampleStore.HourOf(DateTimeOffset.UtcNow.AddHours(-30));
        await store.WriteAsync(Enumerable.Range(0, 6).Select(i => new SystemSample { At = hour.AddMinutes(i * 10), Source = "runner:old", MemoryUsedMb = 100 + (10 * i), MemoryTotalMb = 1000, CpuPercent = 10 * i }));

        // The host's own pass (every 10 minutes, the first at start) may take some of them first: either way they end hourly.
        var done = await store.DownsampleAsync(DateTimeOffset.UtcNow);

        Assert.InRange(done.RawDeleted, 0, 6);
        Assert.Empty(await store.ReadRawAsync(hour, "runner:old"));
        var (_, week) = await host.SendAsync(HttpMethod.Get, "/api/system/stats?range=7d&source=runner:old");
        var point = Assert.Single(week!["series"]!["points"]!.AsArray())!;
        Assert.Equal(MonitorFunctions.Iso(hour), point["at"]!.GetValue<string>());
        Assert.Equal(125, point["memory_used_mb"]!.GetValue<double>());
        Assert.Equal(150, point["memory_used_mb_max"]!.GetValue<double>());
        Assert.Equal(50, point["cpu_percent_max"]!.GetValue<double>());
        Assert.Equal(6, point["samples"]!.GetValue<int>());
        var (_, day) = await host.SendAsync(HttpMethod.Get, "/api/system/stats?range=24h&source=runner:old");
        Assert.Empty(day!["series"]!["points"]!.AsArray());
    }
}
