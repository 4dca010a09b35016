using Azure;
using Azure.Data.Tables;
using System.Text.Json.Serialization;
using Azure.Storage.Blobs;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Runner;

/// <summary>The state of a job in <see cref="RunnerStorage.JobsTable"/>.</summary>
public static class RunnerJobStates
{
    /// <summary>A runner holds it and heartbeats.</summary>
    public const string Running = "running";

    /// <summary>Done; the result is stored and the job is never run again.</summary>
    public const string Finished = "finished";
}

/// <summary>A control request for a running job.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RunnerControlAction>))]
public enum RunnerControlAction
{
    /// <summary>SIGTERM to the process group, SIGKILL after the grace period; the job ends <see cref="JobStatus.Cancelled"/>.</summary>
    [JsonStringEnumMemberName("stop")]
    Stop,

    /// <summary>SIGSTOP to the process group.</summary>
    [JsonStringEnumMemberName("pause")]
    Pause,

    /// <summary>SIGCONT to the process group.</summary>
    [JsonStringEnumMemberName("resume")]
    Resume,
}

/// <summary>One row of the jobs table, as the waiting side sees it.</summary>
public sealed record RunnerJobRecord
{
    /// <summary>The job (attempt) id.</summary>
    public required string JobId { get; init; }

    /// <summary><see cref="RunnerJobStates"/> value, or null when only a control request exists.</summary>
    public string? State { get; init; }

    /// <summary>The runner that holds (held) the job.</summary>
    public string? RunnerId { get; init; }

    /// <summary>The orchestration instance.</summary>
    public string? InstanceId { get; init; }

    /// <summary>When the runner started the job.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>The job's last heartbeat; stale when the runner died.</summary>
    public DateTimeOffset? LastHeartbeat { get; init; }

    /// <summary>The latest control request (<c>stop</c>, <c>pause</c>, <c>resume</c>).</summary>
    public string? Control { get; init; }

    /// <summary>Whether the runner reports the job paused.</summary>
    public bool Paused { get; init; }

    /// <summary>The result once <see cref="RunnerJobStates.Finished"/>.</summary>
    public JobResult? Result { get; init; }

    /// <summary>True when the job is running and its heartbeat is older than <paramref name="staleAfter"/>.</summary>
    public bool IsStale(DateTimeOffset now, TimeSpan staleAfter) =>
        State == RunnerJobStates.Running && (LastHeartbeat ?? StartedAt ?? DateTimeOffset.MinValue) < now - staleAfter;
}

/// <summary>
/// Access to <see cref="RunnerStorage.JobsTable"/>: one row per job id (partition = job id). The runner writes
/// <see cref="RunnerJobStates.Running"/> with heartbeats, then <see cref="RunnerJobStates.Finished"/> with the
/// result; the control side writes control requests; the waiting side reads heartbeats and results.
/// </summary>
public sealed class RunnerJobTable
{
    private const string RowKey = "job";
    private const int MaxInlineResultChars = 30_000;
    private readonly TableClient _table;
    private readonly BlobContainerClient _payloads;
    private readonly Lazy<Task> _created;

    /// <summary>Binds to the jobs table of <paramref name="storage"/>.</summary>
    public RunnerJobTable(StorageAccount storage, StorageNames names)
    {
        ArgumentNullException.ThrowIfNull(storage);
        _table = storage.Tables.GetTableClient(RunnerStorage.JobsTable(names));
        _payloads = storage.Blobs.GetBlobContainerClient(RunnerStorage.PayloadsContainer(names));
        _created = new Lazy<Task>(() => _table.CreateIfNotExistsAsync());
    }

    /// <summary>Creates the table when missing.</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default) => _created.Value.WaitAsync(cancellationToken);

    /// <summary>Reads a job's row, or null.</summary>
    public async Task<RunnerJobRecord?> GetAsync(string jobId, CancellationToken cancellationToken = default)
    {
        await EnsureCreatedAsync(cancellationToken);
        var response = await _table.GetEntityIfExistsAsync<TableEntity>(Key(jobId), RowKey, cancellationToken: cancellationToken);
        if (!response.HasValue || response.Value is null)
        {
            return null;
        }

        var e = response.Value;
        JobResult? result = null;
        if (e.GetString("ResultJson") is { Length: > 0 } json)
        {
            result = RunnerJson.Deserialize<JobResult>(json);
        }
        else if (e.GetString("ResultBlob") is { Length: > 0 } blob)
        {
            var content = await _payloads.GetBlobClient(blob).DownloadContentAsync(cancellationToken);
            result = RunnerJson.Deserialize<JobResult>(content.Value.Content.ToString());
        }

        return new RunnerJobRecord
        {
            JobId = jobId,
            State = e.GetString("State"),
            RunnerId = e.GetString("RunnerId"),
            InstanceId = e.GetString("InstanceId"),
            StartedAt = e.GetDateTimeOffset("StartedAt"),
            LastHeartbeat = e.GetDateTimeOffset("LastHeartbeat"),
            Control = e.GetString("Control"),
            Paused = e.GetBoolean("Paused") ?? false,
            Result = result,
        };
    }

    /// <summary>Runner side: records that <paramref name="runnerId"/> started the job.</summary>
    public async Task MarkRunningAsync(string jobId, string runnerId, string instanceId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await EnsureCreatedAsync(cancellationToken);
        var entity = new TableEntity(Key(jobId), RowKey)
        {
            ["State"] = RunnerJobStates.Running,
            ["RunnerId"] = runnerId,
            ["InstanceId"] = instanceId,
            ["StartedAt"] = now,
            ["LastHeartbeat"] = now,
            ["Paused"] = false,
        };
        await _table.UpsertEntityAsync(entity, TableUpdateMode.Merge, cancellationToken);
    }

    /// <summary>Runner side: refreshes the job's heartbeat.</summary>
    public async Task HeartbeatAsync(string jobId, DateTimeOffset now, bool paused, CancellationToken cancellationToken = default)
    {
        var entity = new TableEntity(Key(jobId), RowKey) { ["LastHeartbeat"] = now, ["Paused"] = paused };
        await _table.UpsertEntityAsync(entity, TableUpdateMode.Merge, cancellationToken);
    }

    /// <summary>Runner side: stores the result and marks the job finished, so a redelivered message is not run again.</summary>
    public async Task MarkFinishedAsync(JobResult result, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        await EnsureCreatedAsync(cancellationToken);
        var json = RunnerJson.Serialize(result);
        var entity = new TableEntity(Key(result.JobId), RowKey)
        {
            ["State"] = RunnerJobStates.Finished,
            ["Status"] = RunnerJson.Serialize(result.Status).Trim('"'),
            ["FinishedAt"] = result.FinishedAt,
        };
        if (json.Length <= MaxInlineResultChars)
        {
            entity["ResultJson"] = json;
        }
        else
        {
            // A table property holds 64 KB; big package lists and locks go to a blob.
            var blobName = "results/" + result.JobId + ".json";
            await _payloads.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            await _payloads.GetBlobClient(blobName).UploadAsync(BinaryData.FromString(json), overwrite: true, cancellationToken);
            entity["ResultBlob"] = blobName;
        }

        await _table.UpsertEntityAsync(entity, TableUpdateMode.Merge, cancellationToken);
    }

    /// <summary>Control side: records a control request on the job's row (applied by the runner at its next heartbeat at the latest).</summary>
    public async Task RequestControlAsync(string jobId, RunnerControlAction action, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await EnsureCreatedAsync(cancellationToken);
        var entity = new TableEntity(Key(jobId), RowKey)
        {
            ["Control"] = action.ToString().ToLowerInvariant(),
            ["ControlAt"] = now,
        };
        await _table.UpsertEntityAsync(entity, TableUpdateMode.Merge, cancellationToken);
    }

    private static string Key(string jobId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobId);
        if (jobId.IndexOfAny(['/', '\\', '#', '?']) >= 0 || jobId.Any(char.IsControl))
        {
            throw new ArgumentException("a job id cannot contain / \\ # ? or control characters", nameof(jobId));
        }

        return jobId;
    }
}

/// <summary>What became of a control request.</summary>
public enum ControlDelivery
{
    /// <summary>Sent to the runner that holds the job.</summary>
    Sent,

    /// <summary>No runner holds the job yet; the request is recorded and applied when a runner takes it (stop: the job is not run).</summary>
    Recorded,

    /// <summary>The job already finished; nothing to do.</summary>
    AlreadyFinished,
}

/// <summary>Stop, pause or resume a running job wherever it runs.</summary>
public interface IRunnerControl
{
    /// <summary>Records the request on the job's row and sends it to the holding runner's control queue.</summary>
    Task<ControlDelivery> SendAsync(string jobId, RunnerControlAction action, CancellationToken cancellationToken = default);
}

/// <summary>
/// <see cref="IRunnerControl"/> through the jobs table (durable record, polled by the runner with each job
/// heartbeat) and the holding runner's control queue (fast path, <see cref="RunnerStorage.ControlQueue"/>).
/// </summary>
public sealed class RunnerControl(StorageAccount storage, StorageNames names, RunnerJobTable jobs, TimeProvider time) : IRunnerControl
{
    /// <inheritdoc />
    public async Task<ControlDelivery> SendAsync(string jobId, RunnerControlAction action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(time);
        var record = await jobs.GetAsync(jobId, cancellationToken);
        if (record?.State == RunnerJobStates.Finished)
        {
            return ControlDelivery.AlreadyFinished;
        }

        await jobs.RequestControlAsync(jobId, action, time.GetUtcNow(), cancellationToken);

        // Read again after writing: a runner that marked the job running after our first read either saw the
        // request when it started, or is named now and gets the message.
        record = await jobs.GetAsync(jobId, cancellationToken);
        if (record?.RunnerId is not { Length: > 0 } runnerId || record.State != RunnerJobStates.Running)
        {
            return ControlDelivery.Recorded;
        }

        var queue = storage.Queues.GetQueueClient(RunnerStorage.ControlQueue(names, runnerId));
        try
        {
            await queue.SendMessageAsync(RunnerJson.Serialize(new RunnerControlMessage(jobId, action)), cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // The runner is gone (its queue was removed); the row keeps the request for whoever takes the job next.
            return ControlDelivery.Recorded;
        }

        return ControlDelivery.Sent;
    }
}

/// <summary>A message on a runner's control queue.</summary>
public sealed record RunnerControlMessage(string JobId, RunnerControlAction Action);
