using System.Text.Json;
using System.Text.Json.Serialization;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace EnvFabric.Durable;

/// <summary>
/// Settings of the runtime, named after Durable Functions' host.json <c>extensions.durableTask</c> keys. The three
/// storage clients are required; the host passes the ones of its storage account.
/// </summary>
public sealed class DurableTaskOptions
{
    /// <summary>The task hub: prefixes every queue, table and container (letters and digits, 3-45, starting with a letter).</summary>
    public string HubName { get; set; } = "EnvFabric";

    /// <summary>Control-queue partitions (1-16). Fixed for the life of a hub.</summary>
    public int PartitionCount { get; set; } = 4;

    /// <summary>The longest wait between polls of an empty queue (Durable Functions' default is 30 s; 1 s here).</summary>
    public TimeSpan MaxQueuePollingInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Control messages fetched per poll (1-32).</summary>
    public int ControlQueueBatchSize { get; set; } = 32;

    /// <summary>How long a partition lease lasts without renewal; a dead worker's partitions move within it.</summary>
    public TimeSpan PartitionLeaseInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Activities one worker runs at once.</summary>
    public int MaxConcurrentActivities { get; set; } = 10;

    /// <summary>Orchestration episodes one worker runs at once.</summary>
    public int MaxConcurrentOrchestrations { get; set; } = 100;

    /// <summary>Keep an instance's replayed state in memory between episodes instead of reloading and replaying its history.</summary>
    public bool ExtendedSessionsEnabled { get; set; }

    /// <summary>How long an idle extended session stays in memory.</summary>
    public TimeSpan ExtendedSessionIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a fetched control message stays invisible to other workers (DTFx: 5 min).</summary>
    public TimeSpan ControlQueueVisibilityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a fetched activity message stays invisible; renewed while the activity runs.</summary>
    public TimeSpan WorkItemVisibilityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>This worker's name in partition leases; defaults to machine name, process id and a random suffix.</summary>
    public string? WorkerId { get; set; }

    /// <summary>The route prefix the management API is mapped under; used to build status URLs.</summary>
    public string ManagementRoutePrefix { get; set; } = "/runtime/webhooks/durabletask";

    /// <summary>How inputs, outputs, event payloads and custom status are serialized.</summary>
    public JsonSerializerOptions SerializerOptions { get; set; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The Blob service (large payloads).</summary>
    public BlobServiceClient? BlobServiceClient { get; set; }

    /// <summary>The Queue service (control and work-item queues). Messages are written as plain text.</summary>
    public QueueServiceClient? QueueServiceClient { get; set; }

    /// <summary>The Table service (Instances, History, Partitions).</summary>
    public TableServiceClient? TableServiceClient { get; set; }

    /// <summary>The first problem with these settings, or null when they are valid.</summary>
    public string? Validate()
    {
        if (HubName is null || HubName.Length is < 3 or > 45 || !char.IsAsciiLetter(HubName[0]) || !HubName.All(char.IsAsciiLetterOrDigit))
        {
            return $"HubName must be 3 to 45 letters and digits starting with a letter (was \"{HubName}\")";
        }

        if (PartitionCount is < 1 or > 16)
        {
            return $"PartitionCount must be between 1 and 16 (was {PartitionCount})";
        }

        if (ControlQueueBatchSize is < 1 or > 32)
        {
            return $"ControlQueueBatchSize must be between 1 and 32 (was {ControlQueueBatchSize})";
        }

        if (MaxQueuePollingInterval < TimeSpan.FromMilliseconds(50))
        {
            return $"MaxQueuePollingInterval must be at least 50 ms (was {MaxQueuePollingInterval})";
        }

        if (PartitionLeaseInterval < TimeSpan.FromSeconds(1))
        {
            return $"PartitionLeaseInterval must be at least 1 s (was {PartitionLeaseInterval})";
        }

        if (MaxConcurrentActivities < 1 || MaxConcurrentOrchestrations < 1)
        {
            return "MaxConcurrentActivities and MaxConcurrentOrchestrations must be at least 1";
        }

        if (ControlQueueVisibilityTimeout < TimeSpan.FromSeconds(1) || WorkItemVisibilityTimeout < TimeSpan.FromSeconds(1))
        {
            return "ControlQueueVisibilityTimeout and WorkItemVisibilityTimeout must be at least 1 s";
        }

        if (BlobServiceClient is null || QueueServiceClient is null || TableServiceClient is null)
        {
            return "BlobServiceClient, QueueServiceClient and TableServiceClient must be set (for example from the host's storage account)";
        }

        return null;
    }
}

/// <summary>What a host can report about its durable worker (for health checks).</summary>
public interface IDurableWorkerStatus
{
    /// <summary>The worker's id in the lease table.</summary>
    string WorkerId { get; }

    /// <summary>The control-queue partitions this worker owns now.</summary>
    IReadOnlyCollection<int> OwnedPartitions { get; }

    /// <summary>The worker's failure, when its loop has stopped with an exception; else null.</summary>
    Exception? Failure { get; }
}
