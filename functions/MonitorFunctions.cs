using System.Globalization;
using EnvFabric.Core.Monitoring;
using EnvFabric.Core.Runner;
using EnvFabric.Functions.Extensions;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>
/// <c>GET /api/system/stats</c> (seed 004's system monitor): CPU, memory, load and disk of this host and of every
/// runner host now, free space on the share, and the sampled series of <see cref="SystemSampler"/>. Any key may
/// read it: the figures are the machines', not a namespace's.
/// </summary>
public static class MonitorFunctions
{
    /// <summary>The ranges <c>?range=</c> takes and how far back each reaches.</summary>
    public static readonly IReadOnlyDictionary<string, TimeSpan> Ranges = new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
    {
        ["1h"] = TimeSpan.FromHours(1),
        ["6h"] = TimeSpan.FromHours(6),
        ["24h"] = TimeSpan.FromHours(24),
        ["7d"] = TimeSpan.FromDays(7),
    };

    public static RouteGroupBuilder MapMonitorFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/api/system").WithTags("System monitor").AddEndpointFilter(EnvironmentReadiness.Filter);
        group.MapGet("/stats", GetSystemStats)
            .Produces<CondaError>(StatusCodes.Status400BadRequest)
            .WithName("GetSystemStats")
            .WithSummary("CPU, memory, load and disk of the host and each runner now, free space on the share, and a series (range 1h, 6h, 24h: raw samples; 7d: hourly averages and maxima).");
        return group;
    }

    public static async Task<Results<Ok<SystemStatsView>, JsonHttpResult<CondaError>>> GetSystemStats(
        string? range,
        string? source,
        SystemSampleStore samples,
        IRunnerRegistry runners,
        SystemMonitorOptions options,
        TimeProvider time,
        [FromServices] Core.Configuration.DataPaths paths,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(runners);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(paths);
        range = string.IsNullOrEmpty(range) ? "1h" : range;
        if (!Ranges.TryGetValue(range, out var span))
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid range", $"range must be one of {string.Join(", ", Ranges.Keys)} (was '{range}')");
        }

        if (source is not null && (source.Length is 0 or > 260 || !(source.StartsWith("host:", StringComparison.Ordinal) || source.StartsWith("runner:", StringComparison.Ordinal))))
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid source", "source must be host:<machine> or runner:<runner id>, as the series' points name them");
        }

        var now = time.GetUtcNow();
        var from = now - span;
        var raw = await samples.ReadRawAsync(span > SystemSampleStore.RawRetention ? now - SystemSampleStore.RawRetention : from, source, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<SystemSample> points;
        int interval;
        if (span > SystemSampleStore.RawRetention)
        {
            // Hours older than a day are stored hourly; the last day is summed the same way on the fly.
            var hourly = await samples.ReadHourlyAsync(from, source, cancellationToken).ConfigureAwait(false);
            var recent = SystemSampleStore.Downsample(raw);
            var stored = hourly.Select(h => (h.At, h.Source)).ToHashSet();
            points = hourly.Concat(recent.Where(r => !stored.Contains((r.At, r.Source)))).OrderBy(p => p.At).ThenBy(p => p.Source, StringComparer.Ordinal).ToList();
            interval = 3600;
        }
        else
        {
            points = raw;
            interval = (int)options.SampleInterval.TotalSeconds;
        }

        // This host now: memory, load and disk read live; CPU is a rate, so it comes from the latest sample.
        var live = HostFigures.Read(new CpuUsageSampler(), paths.DataRoot);
        var latestHost = (source is null || source == SystemSampler.HostSource ? raw : await samples.ReadRawAsync(now - TimeSpan.FromMinutes(5), SystemSampler.HostSource, cancellationToken).ConfigureAwait(false))
            .LastOrDefault(s => s.Source == SystemSampler.HostSource);
        var hostDisk = live.Disks.Count > 0 ? live.Disks[0] : null;
        var host = new HostStatsView(
            Environment.MachineName,
            SystemSampler.HostSource,
            latestHost?.CpuPercent,
            live.MemoryUsedMb,
            live.MemoryTotalMb,
            live.Load?.ToList(),
            hostDisk is null ? null : new DiskView(hostDisk.Path, hostDisk.TotalBytes, hostDisk.FreeBytes));

        var runnerViews = (await runners.GetRunnersAsync(cancellationToken).ConfigureAwait(false))
            .OrderBy(r => r.RunnerId, StringComparer.Ordinal)
            .Select(r => new RunnerStatsView(
                r.RunnerId,
                SystemSampler.RunnerSource(r.RunnerId),
                r.Host,
                r.IsAlive(now, RunnerDefaults.StaleAfter),
                Iso(r.LastHeartbeat),
                r.CpuPercent,
                r.MemoryUsedMb,
                r.MemoryTotalMb,
                r.LoadAverage,
                r.ActiveJobs,
                r.MaxConcurrent,
                r.Disks.Select(d => new RunnerDiskView(d.Role, d.Path, d.TotalBytes, d.FreeBytes)).ToList()))
            .ToList();

        // The share is one file system for the host and the runners; the host's view of DATA_ROOT, else a live runner's.
        var shareDisk = hostDisk is not null ? new ShareView(hostDisk.TotalBytes, hostDisk.FreeBytes)
            : runnerViews.Where(r => r.Alive).SelectMany(r => r.Disks).Where(d => d.Role == "share").Select(d => new ShareView(d.TotalBytes, d.FreeBytes)).FirstOrDefault();
        var sampledAt = raw.Count > 0 ? Iso(raw[^1].At) : null;
        return TypedResults.Ok(new SystemStatsView(
            true,
            sampledAt,
            host,
            runnerViews,
            shareDisk,
            new SeriesView(range, interval, points.Select(SeriesPoint.From).ToList())));
    }

    internal static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

/// <summary><c>GET /api/system/stats</c>.</summary>
public sealed record SystemStatsView(bool Success, string? SampledAt, HostStatsView Host, IReadOnlyList<RunnerStatsView> Runners, ShareView? Share, SeriesView Series);

/// <summary>This host now.</summary>
public sealed record HostStatsView(string Name, string Source, double? CpuPercent, double? MemoryUsedMb, double? MemoryTotalMb, IReadOnlyList<double>? LoadAvg, DiskView? Disk);

/// <summary>A file system: the directory asked about, its size and free bytes.</summary>
public sealed record DiskView(string Path, long TotalBytes, long FreeBytes);

/// <summary>A runner's figures from its last heartbeat.</summary>
public sealed record RunnerStatsView(
    string RunnerId,
    string Source,
    string? Host,
    bool Alive,
    string LastHeartbeat,
    double? CpuPercent,
    double? MemoryUsedMb,
    double? MemoryTotalMb,
    IReadOnlyList<double>? LoadAvg,
    int RunningJobs,
    int Slots,
    IReadOnlyList<RunnerDiskView> Disks);

/// <summary>A runner's file system: <c>share</c>, <c>envs</c> or <c>work</c>.</summary>
public sealed record RunnerDiskView(string Role, string Path, long TotalBytes, long FreeBytes);

/// <summary>The share's file system.</summary>
public sealed record ShareView(long TotalBytes, long FreeBytes);

/// <summary>The sampled series.</summary>
public sealed record SeriesView(string Range, int IntervalSeconds, IReadOnlyList<SeriesPoint> Points);

/// <summary>One sample of one source; the <c>*_max</c> figures only in hourly points.</summary>
public sealed record SeriesPoint(
    string At,
    string Source,
    string? Host,
    double? CpuPercent,
    double? MemoryUsedMb,
    double? MemoryTotalMb,
    IReadOnlyList<double?> LoadAvg,
    double? RunningJobs,
    int? Slots,
    long? DiskTotalBytes,
    long? DiskFreeBytes,
    int Samples,
    double? CpuPercentMax,
    double? MemoryUsedMbMax,
    double? Load1Max,
    double? RunningJobsMax)
{
    internal static SeriesPoint From(SystemSample s) => new(
        MonitorFunctions.Iso(s.At),
        s.Source,
        s.Host,
        s.CpuPercent,
        s.MemoryUsedMb,
        s.MemoryTotalMb,
        [s.Load1, s.Load5, s.Load15],
        s.RunningJobs,
        s.Slots,
        s.DiskTotalBytes,
        s.DiskFreeBytes,
        s.Samples,
        s.CpuPercentMax,
        s.MemoryUsedMbMax,
        s.Load1Max,
        s.RunningJobsMax);
}
