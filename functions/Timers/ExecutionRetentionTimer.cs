using Azure;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Functions.Timers;

/// <summary>
/// Seed 003's history window as a timer: every hour, executions that ended more than <c>TASK_HISTORY_DAYS</c>
/// (default 30) ago are deleted with their logs. Idempotent, so several hosts running it at once do no harm.
/// </summary>
public sealed partial class ExecutionRetentionTimer(
    ITaskRepository tasks, StorageAccount storage, StorageNames names, TaskOptions options, TimeProvider time, ILogger<ExecutionRetentionTimer> logger) : BackgroundService
{
    /// <summary>How often the window is applied.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>Removes what is older than the window now; returns how many executions.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var removed = await tasks.DeleteExecutionsEndedBeforeAsync(time.GetUtcNow().AddDays(-options.HistoryDays), cancellationToken).ConfigureAwait(false);
        var logs = storage.Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(names));
        foreach (var execution in removed)
        {
            await logs.GetBlobClient(execution.LogBlob).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return removed.Count;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Interval, time, stoppingToken).ConfigureAwait(false);
                var removed = await RunOnceAsync(stoppingToken).ConfigureAwait(false);
                if (removed > 0)
                {
                    LogRemoved(logger, removed, options.HistoryDays);
                }
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} executions older than {Days} days")]
    private static partial void LogRemoved(ILogger logger, int count, int days);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Applying the execution history window failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
