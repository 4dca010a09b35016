using System.Text.Json;
using System.Text.Json.Serialization;
using DurableTask.AzureStorage;

namespace EnvFabric.Durable;

/// <summary>
/// Settings of the durable engine (DTFx's Azure Storage provider), named after Durable Functions' host.json
/// <c>extensions.durableTask</c> keys and mapped onto <see cref="AzureStorageOrchestrationServiceSettings"/>.
/// <see cref="StorageAccount"/> is required; the host builds it from its storage account.
/// </summary>
public sealed class DurableTaskOptions
{
    /// <summary>The task hub: names its queues, tables and containers (letters and digits, 3-45, starting with a letter).</summary>
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

    /// <summary>Orchestration work items one worker runs at once.</summary>
    public int MaxConcurrentOrchestrations { get; set; } = 100;

    /// <summary>Keep an orchestration in memory between episodes instead of replaying its history.</summary>
    public bool ExtendedSessionsEnabled { get; set; }

    /// <summary>How long an idle extended session stays in memory.</summary>
    public TimeSpan ExtendedSessionIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a fetched control message stays invisible to other workers. It bounds recovery after a
    /// worker dies holding messages (Durable Functions: 5 min; 30 s here). An episode longer than this is
    /// seen by another worker and abandoned by the ETag check, so keep it well above an episode's length.
    /// </summary>
    public TimeSpan ControlQueueVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a fetched activity message stays invisible; DTFx renews it while the activity runs, so
    /// it bounds only how soon an activity of a dead worker runs again (Durable Functions: 5 min; 30 s here).
    /// </summary>
    public TimeSpan WorkItemQueueVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>One app lease per hub: only one worker process runs it at a time (Durable Functions' useAppLease; off here).</summary>
    public bool UseAppLease { get; set; }

    /// <summary>This worker's name in partition leases; defaults to machine name and process id.</summary>
    public string? WorkerId { get; set; }

    /// <summary>The route prefix the management API is mapped under; used to build status URLs.</summary>
    public string ManagementRoutePrefix { get; set; } = "/runtime/webhooks/durabletask";

    /// <summary>How inputs, outputs, event payloads and custom status are serialized, on the client and in the shims.</summary>
    public JsonSerializerOptions SerializerOptions { get; set; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The storage account of the task hub: a connection string, or service URIs with a token credential.</summary>
    public StorageAccountClientProvider? StorageAccount { get; set; }

    /// <summary>The worker id in effect.</summary>
    public string EffectiveWorkerId => WorkerId ?? $"{Environment.MachineName}-{Environment.ProcessId}";

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

        if (ControlQueueVisibilityTimeout < TimeSpan.FromSeconds(5) || WorkItemQueueVisibilityTimeout < TimeSpan.FromSeconds(5))
        {
            return "ControlQueueVisibilityTimeout and WorkItemQueueVisibilityTimeout must be at least 5 s";
        }

        return StorageAccount is null ? "StorageAccount must be set (for example from the host's storage account)" : null;
    }

    /// <summary>The provider settings these options stand for.</summary>
    public AzureStorageOrchestrationServiceSettings ToProviderSettings(Microsoft.Extensions.Logging.ILoggerFactory loggerFactory) => new()
    {
        TaskHubName = HubName,
        PartitionCount = PartitionCount,
        MaxQueuePollingInterval = MaxQueuePollingInterval,
        ControlQueueBatchSize = ControlQueueBatchSize,
        LeaseInterval = PartitionLeaseInterval,
        LeaseRenewInterval = PartitionLeaseInterval / 3,
        LeaseAcquireInterval = PartitionLeaseInterval / 3,
        MaxConcurrentTaskActivityWorkItems = MaxConcurrentActivities,
        MaxConcurrentTaskOrchestrationWorkItems = MaxConcurrentOrchestrations,
        ExtendedSessionsEnabled = ExtendedSessionsEnabled,
        ExtendedSessionIdleTimeout = ExtendedSessionIdleTimeout,
        ControlQueueVisibilityTimeout = ControlQueueVisibilityTimeout,
        WorkItemQueueVisibilityTimeout = WorkItemQueueVisibilityTimeout,
        UseAppLease = UseAppLease,
        UseTablePartitionManagement = true,
        // Without it the provider ignores a start whose id is taken by an unfinished instance, and the client
        // reports it started: refuse it with OrchestrationAlreadyExistsException instead.
        ThrowExceptionOnInvalidDedupeStatus = true,
        WorkerId = EffectiveWorkerId,
        StorageAccountClientProvider = StorageAccount,
        LoggerFactory = loggerFactory,
    };
}

/// <summary>What a host can report about its durable worker (for health checks).</summary>
public interface IDurableWorkerStatus
{
    /// <summary>The worker's id in the lease table.</summary>
    string WorkerId { get; }

    /// <summary>True once the worker has started and until it stops.</summary>
    bool IsRunning { get; }

    /// <summary>The worker's failure, when it could not start or stopped with an exception; else null.</summary>
    Exception? Failure { get; }
}

/// <summary>Ways to point the engine at a storage account.</summary>
public static class DurableTaskOptionsExtensions
{
    /// <summary>
    /// The task hub's storage: the connection string when there is one (Azurite locally), else the three service
    /// URIs with <paramref name="credential"/> (identity-based, as Functions' <c>AzureWebJobsStorage__*</c>).
    /// </summary>
    public static DurableTaskOptions UseStorage(this DurableTaskOptions options, string? connectionString, Uri blobServiceUri, Uri queueServiceUri, Uri tableServiceUri, Azure.Core.TokenCredential? credential)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            options.StorageAccount = new StorageAccountClientProvider(connectionString);
        }
        else
        {
            ArgumentNullException.ThrowIfNull(credential);
            options.StorageAccount = new StorageAccountClientProvider(blobServiceUri, queueServiceUri, tableServiceUri, credential);
        }

        return options;
    }
}
