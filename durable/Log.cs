using Microsoft.Extensions.Logging;

namespace EnvFabric.Durable;

/// <summary>The runtime's log messages. EventIds: 3000-3019 worker and leases, 3020-3059 orchestrations, 3060-3099 activities.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Durable worker {WorkerId} started on hub {HubName} ({PartitionCount} partitions)")]
    public static partial void WorkerStarted(this ILogger logger, string workerId, string hubName, int partitionCount);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Durable worker {WorkerId} stopped")]
    public static partial void WorkerStopped(this ILogger logger, string workerId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Worker {WorkerId} acquired partition {Partition}")]
    public static partial void PartitionAcquired(this ILogger logger, string workerId, int partition);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Worker {WorkerId} released partition {Partition}")]
    public static partial void PartitionReleased(this ILogger logger, string workerId, int partition);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Worker {WorkerId} lost partition {Partition}")]
    public static partial void PartitionLost(this ILogger logger, string workerId, int partition);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Lease maintenance failed")]
    public static partial void LeaseLoopFailed(this ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Polling {Queue} failed")]
    public static partial void PollFailed(this ILogger logger, Exception exception, string queue);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Debug, Message = "Instance {InstanceId}: episode of {Count} new events, status {Status}")]
    public static partial void EpisodeCompleted(this ILogger logger, string instanceId, int count, OrchestrationRuntimeStatus status);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Warning, Message = "Instance {InstanceId}: checkpoint conflict, another worker wrote its history; the work item is abandoned")]
    public static partial void CheckpointConflict(this ILogger logger, string instanceId);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Error, Message = "Instance {InstanceId}: episode failed; its messages will be retried")]
    public static partial void EpisodeFailed(this ILogger logger, Exception exception, string instanceId);

    [LoggerMessage(EventId = 3023, Level = LogLevel.Debug, Message = "Instance {InstanceId}: dropped {EventType} ({Reason})")]
    public static partial void MessageDropped(this ILogger logger, string instanceId, Storage.EventType eventType, string reason);

    [LoggerMessage(EventId = 3024, Level = LogLevel.Warning, Message = "Unreadable control message {MessageId} dropped")]
    public static partial void BadMessage(this ILogger logger, Exception exception, string messageId);

    [LoggerMessage(EventId = 3025, Level = LogLevel.Information, Message = "Instance {InstanceId} ({Name}) finished: {Status}")]
    public static partial void InstanceFinished(this ILogger logger, string instanceId, string name, OrchestrationRuntimeStatus status);

    [LoggerMessage(EventId = 3060, Level = LogLevel.Warning, Message = "Activity {Name} for {InstanceId} failed")]
    public static partial void ActivityFailed(this ILogger logger, Exception exception, string name, string instanceId);

    [LoggerMessage(EventId = 3061, Level = LogLevel.Error, Message = "Activity message {MessageId} could not be processed; it will be retried")]
    public static partial void ActivityDispatchFailed(this ILogger logger, Exception exception, string messageId);
}
