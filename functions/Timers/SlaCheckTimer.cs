using Azure;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Pools;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions.Timers;

/// <summary>How often the SLA rules are applied (<c>SLA_CHECK_SECONDS</c>, default 15; zero = never).</summary>
public sealed record SlaCheckOptions(TimeSpan Interval);

/// <summary>
/// The SLA rules of the pool configuration as a timer: every <c>SLA_CHECK_SECONDS</c> one pass over each pool's
/// waiting runs (<see cref="SlaMonitor"/>), a warning logged per alert. Every host may run it: a rule fires once
/// per run whichever host's pass sees it first.
/// </summary>
public sealed partial class SlaCheckTimer(
    SlaMonitor monitor, IServiceProvider services, IOptions<EnvFabricOptions> deployment, SlaCheckOptions options, TimeProvider time, ILogger<SlaCheckTimer> logger)
    : BackgroundService
{
    /// <summary>One pass with the pool configuration in force; returns what fired.</summary>
    public async Task<IReadOnlyList<SlaEvent>> RunOnceAsync(CancellationToken cancellationToken)
    {
        var configuration = PoolSlots.Current(services, deployment.Value.MaxConcurrentTasks);
        var fired = await monitor.CheckAsync(configuration, cancellationToken).ConfigureAwait(false);
        foreach (var e in fired)
        {
            if (e.Action == SlaActions.Alert)
            {
                LogAlert(logger, e.ExecutionId, e.TaskId, e.Pool, e.WaitedSeconds, e.Rule);
            }
            else
            {
                LogPromoted(logger, e.ExecutionId, e.TaskId, e.Pool, e.WaitedSeconds, e.Rule, e.Rank, e.NewRank ?? e.Rank);
            }
        }

        return fired;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Interval <= TimeSpan.Zero)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Interval, time, stoppingToken).ConfigureAwait(false);
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (RequestFailedException ex)
            {
                LogFailed(logger, ex.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SLA alert: run {ExecutionId} of task {TaskId} has waited {WaitedSeconds} s for a slot of pool {Pool} (rule {Rule})")]
    private static partial void LogAlert(ILogger logger, string executionId, long taskId, string pool, double waitedSeconds, string rule);

    [LoggerMessage(Level = LogLevel.Information, Message = "SLA promotion: run {ExecutionId} of task {TaskId} waited {WaitedSeconds} s in pool {Pool}; rule {Rule} raised its rank from {From} to {To}")]
    private static partial void LogPromoted(ILogger logger, string executionId, long taskId, string pool, double waitedSeconds, string rule, int from, int to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Applying the SLA rules failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
