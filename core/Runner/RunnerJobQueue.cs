using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Core.Runner;

/// <summary>The dispatch side of the runner: puts jobs on the runner queue.</summary>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is a queue of runner jobs.")]
public interface IRunnerJobQueue
{
    /// <summary>Enqueues <paramref name="job"/> on its pool's queue; any runner of that pool may take it. Returns once the message is stored.</summary>
    Task EnqueueAsync(RunnerJob job, CancellationToken cancellationToken = default);
}

/// <summary>
/// <see cref="IRunnerJobQueue"/> on Azure Storage queues, one per runner pool (<see cref="RunnerStorage.JobQueue(StorageNames, string?)"/>).
/// A job names its pool (a task's run); a job without one (an environment job, a Python install) goes to a pool
/// with a live runner that can do it: for an environment job one whose backends hold the job's backend, for a
/// Python install one with uv or conda; <c>default</c> is preferred, then the pool with most such runners, and when
/// no live runner can do it the job waits on the default queue. The runners are read through
/// <see cref="IRunnerRegistry"/> at most every <see cref="RunnersCacheFor"/>. A message over the queue's 64 KB limit
/// (a long requirements text) is stored as a blob and the queue carries a reference.
/// </summary>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is a queue of runner jobs.")]
public sealed class AzureRunnerJobQueue : IRunnerJobQueue
{
    /// <summary>Messages above this many UTF-8 bytes go through a blob.</summary>
    public const int MaxInlineBytes = 48 * 1024;

    /// <summary>Property of a reference message naming the payload blob.</summary>
    public const string PayloadBlobProperty = "payload_blob";

    /// <summary>How long the runner list used for routing is reused.</summary>
    public static readonly TimeSpan RunnersCacheFor = TimeSpan.FromSeconds(5);

    private readonly StorageAccount _storage;
    private readonly StorageNames _names;
    private readonly IRunnerRegistry? _registry;
    private readonly TimeProvider _time;
    private readonly BlobContainerClient _payloads;
    private readonly ConcurrentDictionary<string, (QueueClient Queue, Lazy<Task> Created)> _queues = new(StringComparer.Ordinal);
    private readonly Lock _runnersLock = new();
    private (long At, Task<IReadOnlyList<RunnerInfo>> Runners)? _runners;

    /// <summary>Binds to the runner queues of <paramref name="storage"/>; without <paramref name="registry"/> a job without a pool goes to <c>default</c>.</summary>
    public AzureRunnerJobQueue(StorageAccount storage, StorageNames names, IRunnerRegistry? registry = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(names);
        _storage = storage;
        _names = names;
        _registry = registry;
        _time = time ?? TimeProvider.System;
        _payloads = storage.Blobs.GetBlobContainerClient(RunnerStorage.PayloadsContainer(names));
    }

    /// <inheritdoc />
    public async Task EnqueueAsync(RunnerJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var pool = await PoolForAsync(job, cancellationToken).ConfigureAwait(false);
        var (queue, created) = _queues.GetOrAdd(pool, p =>
        {
            var client = _storage.Queues.GetQueueClient(RunnerStorage.JobQueue(_names, p));
            return (client, new Lazy<Task>(() => client.CreateIfNotExistsAsync()));
        });
        await created.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        var json = RunnerJson.Serialize(job with { EnqueuedAt = job.EnqueuedAt ?? DateTimeOffset.UtcNow });
        if (Encoding.UTF8.GetByteCount(json) > MaxInlineBytes)
        {
            await _payloads.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var blobName = "jobs/" + job.JobId + ".json";
            await _payloads.GetBlobClient(blobName).UploadAsync(BinaryData.FromString(json), overwrite: true, cancellationToken).ConfigureAwait(false);
            json = "{\"" + PayloadBlobProperty + "\":" + System.Text.Json.JsonSerializer.Serialize(blobName) + "}";
        }

        await queue.SendMessageAsync(json, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The pool whose queue gets <paramref name="job"/> (see the class remarks).</summary>
    public async Task<string> PoolForAsync(RunnerJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Pool is { } named)
        {
            return named;
        }

        if (_registry is null || job is ScriptJob)
        {
            return PoolNames.Default;
        }

        IReadOnlyList<RunnerInfo> runners;
        try
        {
            runners = await RunnersAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException)
        {
            // The Runners table is unreachable: the default queue is where a job waits for any runner.
            return PoolNames.Default;
        }

        var now = _time.GetUtcNow();
        var able = runners
            .Where(r => r.IsAlive(now, RunnerDefaults.StaleAfter) && CanRun(r.Capabilities, job) && PoolNames.IsValid(r.Pool))
            .GroupBy(r => r.Pool, StringComparer.Ordinal)
            .Select(g => (Pool: g.Key, Count: g.Count()))
            .ToList();
        if (able.Count == 0 || able.Any(a => a.Pool == PoolNames.Default))
        {
            return PoolNames.Default;
        }

        return able.OrderByDescending(a => a.Count).ThenBy(a => a.Pool, StringComparer.Ordinal).First().Pool;
    }

    /// <summary>Whether a runner with <paramref name="capabilities"/> can do <paramref name="job"/>: a Python install needs uv or conda, an environment job its backend.</summary>
    public static bool CanRun(RunnerCapabilities capabilities, RunnerJob job)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        ArgumentNullException.ThrowIfNull(job);
        return job switch
        {
            PythonInstallJob => capabilities.Tools.Any(t => t.Name == "uv") || capabilities.CondaTool is not null,
            ScriptJob => true,
            _ => capabilities.Backends.Contains(job.Backend),
        };
    }

    private Task<IReadOnlyList<RunnerInfo>> RunnersAsync()
    {
        lock (_runnersLock)
        {
            var now = _time.GetTimestamp();
            if (_runners is { } cached && _time.GetElapsedTime(cached.At, now) < RunnersCacheFor && !cached.Runners.IsFaulted)
            {
                return cached.Runners;
            }

            var read = _registry!.GetRunnersAsync(CancellationToken.None);
            _runners = (now, read);
            return read;
        }
    }
}
