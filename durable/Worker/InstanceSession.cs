using Azure.Storage.Queues;
using EnvFabric.Durable.Storage;

namespace EnvFabric.Durable.Worker;

/// <summary>A control message received and not yet deleted.</summary>
internal sealed class ReceivedMessage(QueueClient queue, string messageId, string popReceipt, TaskMessage message, DateTimeOffset? insertedOn, long dequeueCount)
{
    /// <summary>The receipt of this delivery.</summary>
    public string PopReceipt { get; } = popReceipt;

    public QueueClient Queue { get; } = queue;

    public string MessageId { get; } = messageId;

    public TaskMessage Message { get; } = message;

    public DateTimeOffset? InsertedOn { get; } = insertedOn;

    public long DequeueCount { get; } = dequeueCount;
}

/// <summary>
/// One instance's work on this worker: messages waiting for the next episode, and (between episodes of a busy
/// instance, or always with extended sessions) its history and live executor. One episode runs at a time.
/// </summary>
internal sealed class InstanceSession(string instanceId, int partition, CancellationToken partitionToken)
{
    public Lock Sync { get; } = new();

    public string InstanceId { get; } = instanceId;

    public int Partition { get; } = partition;

    /// <summary>Cancelled when this worker stops owning the partition.</summary>
    public CancellationToken PartitionToken { get; } = partitionToken;

    public List<ReceivedMessage> Pending { get; set; } = [];

    /// <summary>The newest pop receipt of every message pending or in an episode: a message that reappears while held is not processed twice.</summary>
    public Dictionary<string, string> Receipts { get; } = new(StringComparer.Ordinal);

    public bool Running { get; set; }

    public bool Removed { get; set; }

    public HistoryState? History { get; set; }

    public OrchestrationExecutor? Executor { get; set; }

    public DateTime LastActive { get; set; } = DateTime.UtcNow;

    public void Reset()
    {
        History = null;
        Executor?.Dispose();
        Executor = null;
    }
}
