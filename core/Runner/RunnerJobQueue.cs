using System.Diagnostics.CodeAnalysis;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Runner;

/// <summary>The dispatch side of the runner: puts jobs on the runner queue.</summary>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is a queue of runner jobs.")]
public interface IRunnerJobQueue
{
    /// <summary>Enqueues <paramref name="job"/>; any runner may take it. Returns once the message is stored.</summary>
    Task EnqueueAsync(RunnerJob job, CancellationToken cancellationToken = default);
}

/// <summary>
/// <see cref="IRunnerJobQueue"/> on an Azure Storage queue (<see cref="RunnerStorage.JobQueue"/>). A message over
/// the queue's 64 KB limit (a long requirements text) is stored as a blob and the queue carries a reference.
/// </summary>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is a queue of runner jobs.")]
public sealed class AzureRunnerJobQueue : IRunnerJobQueue
{
    /// <summary>Messages above this many UTF-8 bytes go through a blob.</summary>
    public const int MaxInlineBytes = 48 * 1024;

    /// <summary>Property of a reference message naming the payload blob.</summary>
    public const string PayloadBlobProperty = "payload_blob";

    private readonly QueueClient _queue;
    private readonly BlobContainerClient _payloads;
    private readonly Lazy<Task> _created;

    /// <summary>Binds to the runner queue of <paramref name="storage"/>.</summary>
    public AzureRunnerJobQueue(StorageAccount storage, StorageNames names)
    {
        ArgumentNullException.ThrowIfNull(storage);
        _queue = storage.Queues.GetQueueClient(RunnerStorage.JobQueue(names));
        _payloads = storage.Blobs.GetBlobContainerClient(RunnerStorage.PayloadsContainer(names));
        _created = new Lazy<Task>(() => _queue.CreateIfNotExistsAsync());
    }

    /// <inheritdoc />
    public async Task EnqueueAsync(RunnerJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        await _created.Value.WaitAsync(cancellationToken);
        var json = RunnerJson.Serialize(job with { EnqueuedAt = job.EnqueuedAt ?? DateTimeOffset.UtcNow });
        if (Encoding.UTF8.GetByteCount(json) > MaxInlineBytes)
        {
            await _payloads.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            var blobName = "jobs/" + job.JobId + ".json";
            await _payloads.GetBlobClient(blobName).UploadAsync(BinaryData.FromString(json), overwrite: true, cancellationToken);
            json = "{\"" + PayloadBlobProperty + "\":" + System.Text.Json.JsonSerializer.Serialize(blobName) + "}";
        }

        await _queue.SendMessageAsync(json, cancellationToken);
    }
}
