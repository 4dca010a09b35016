using Azure;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Monitoring;
using EnvFabric.Core.Runner;

namespace EnvFabric.Functions;

/// <summary>SYSTEM_SAMPLE_SECONDS: how often the host samples itself and the runners.</summary>
public sealed record SystemMonitorOptions(TimeSpan SampleInterval)
{
    /// <summary>How often the down-sampling and clean-up pass runs.</summary>
    public static readonly TimeSpan CleanupInterval = TimeSpan.FromMinutes(10);
}

/// <summary>
/// The one sampler of the system's figures: every SYSTEM_SAMPLE_SECONDS it reads this host (CPU from /proc/stat
/// deltas, memory, load, disk of DATA_ROOT) and every live runner's heartbeat figures into the <c>SystemSamples</c>
/// table, which feeds <c>GET /api/system/stats</c> and seed 003's <c>system_resources</c>. Every
/// <see cref="SystemMonitorOptions.CleanupInterval"/> it down-samples rows older than 24 h into hourly rows and
/// drops hourly rows older than 7 days; that pass is idempotent, so every host runs it.
/// </summary>
public sealed partial class SystemSampler(
    IRunnerRegistry runners,
    SystemSampleStore store,
    SystemMonitorOptions options,
    DataPaths paths,
    TimeProvider time,
    ILogger<SystemSampler> logger) : BackgroundService
{
    private readonly CpuUsageSampler _cpu = new();
    private DateTimeOffset _lastCleanup = DateTimeOffset.MinValue;

    /// <summary>This host's source id in the samples.</summary>
    public static string HostSource => SystemSample.SourceKey("host", Environment.MachineName);

    /// <summary>The source id of a runner.</summary>
    public static string RunnerSource(string runnerId) => SystemSample.SourceKey("runner", runnerId);

    /// <summary>This host's figures now (the CPU percentage since the previous call).</summary>
    public HostFigures ReadHost() => HostFigures.Read(_cpu, paths.DataRoot);

    /// <summary>Takes one sample of this host and every live runner now; returns the rows written.</summary>
    public async Task<int> SampleAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();

        // On the interval grid, so several hosts sampling the same runner in one interval write one row.
        var step = options.SampleInterval.Ticks;
        var at = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % step), TimeSpan.Zero);
        var host = ReadHost();
        var share = host.Disks.Count > 0 ? host.Disks[0] : null;
        var samples = new List<SystemSample>
        {
            new()
            {
                At = at,
                Source = HostSource,
                Host = Environment.MachineName,
                CpuPercent = host.CpuPercent,
                MemoryUsedMb = host.MemoryUsedMb,
                MemoryTotalMb = host.MemoryTotalMb,
                Load1 = host.Load?.One,
                Load5 = host.Load?.Five,
                Load15 = host.Load?.Fifteen,
                DiskTotalBytes = share?.TotalBytes,
                DiskFreeBytes = share?.FreeBytes,
            },
        };
        foreach (var runner in await runners.GetRunnersAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!runner.IsAlive(now, RunnerDefaults.StaleAfter))
            {
                continue;
            }

            var disk = runner.Disks.FirstOrDefault(d => d.Role == "share");
            samples.Add(new SystemSample
            {
                At = at,
                Source = RunnerSource(runner.RunnerId),
                Host = runner.Host,
                CpuPercent = runner.CpuPercent,
                MemoryUsedMb = runner.MemoryUsedMb,
                MemoryTotalMb = runner.MemoryTotalMb,
                Load1 = runner.LoadAverage is [var one, ..] ? one : null,
                Load5 = runner.LoadAverage is [_, var five, ..] ? five : null,
                Load15 = runner.LoadAverage is [_, _, var fifteen, ..] ? fifteen : null,
                RunningJobs = runner.ActiveJobs,
                Slots = runner.MaxConcurrent,
                DiskTotalBytes = disk?.TotalBytes,
                DiskFreeBytes = disk?.FreeBytes,
            });
        }

        await store.WriteAsync(samples, cancellationToken).ConfigureAwait(false);
        return samples.Count;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SampleAsync(stoppingToken).ConfigureAwait(false);
                var now = time.GetUtcNow();
                if (now - _lastCleanup >= SystemMonitorOptions.CleanupInterval)
                {
                    _lastCleanup = now;
                    var done = await store.DownsampleAsync(now, stoppingToken).ConfigureAwait(false);
                    if (done.RawDeleted + done.HourlyDeleted > 0)
                    {
                        LogDownsampled(logger, done.HourlyWritten, done.RawDeleted, done.HourlyDeleted);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException)
            {
                LogSampleFailed(logger, ex.Message);
            }

            try
            {
                await Task.Delay(options.SampleInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 1300, Level = LogLevel.Warning, Message = "Sampling the system's figures failed: {Reason}")]
    private static partial void LogSampleFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "System samples: {Hourly} hourly rows written, {Raw} raw rows and {Expired} expired hourly rows deleted")]
    private static partial void LogDownsampled(ILogger logger, int hourly, int raw, int expired);
}
