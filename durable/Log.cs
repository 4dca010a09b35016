using Microsoft.Extensions.Logging;

namespace EnvFabric.Durable;

/// <summary>The adapter's log messages. EventIds: 3000-3019 worker, 3020-3039 client.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Durable worker {WorkerId} started on hub {HubName} ({PartitionCount} partitions)")]
    public static partial void WorkerStarted(this ILogger logger, string workerId, string hubName, int partitionCount);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Durable worker {WorkerId} stopped")]
    public static partial void WorkerStopped(this ILogger logger, string workerId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Durable worker {WorkerId} did not stop within 5 s; unfinished work is picked up again after the queue visibility timeouts")]
    public static partial void WorkerStopTimedOut(this ILogger logger, string workerId);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Durable worker {WorkerId} could not start (storage unreachable?); retrying in 5 s")]
    public static partial void WorkerStartFailed(this ILogger logger, Exception exception, string workerId);
}
