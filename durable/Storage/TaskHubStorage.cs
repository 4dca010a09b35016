using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace EnvFabric.Durable.Storage;

/// <summary>The history of an instance's current execution as read from the History table.</summary>
internal sealed class HistoryState
{
    public List<HistoryEvent> Events { get; } = [];

    /// <summary>The sentinel row's ETag: the condition of the next checkpoint; null before the first one.</summary>
    public ETag? SentinelETag { get; set; }

    /// <summary>The current execution; null when the instance has no history.</summary>
    public string? ExecutionId { get; set; }
}

/// <summary>Another writer changed the instance's history since it was read (split brain): the work item is abandoned.</summary>
internal sealed class CheckpointConflictException : Exception
{
    public CheckpointConflictException()
    {
    }

    public CheckpointConflictException(string message)
        : base(message)
    {
    }

    public CheckpointConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The task hub's storage, laid out as DTFx's Azure Storage provider: control queues <c>{hub}-control-NN</c>
/// (instance to partition by FNV-1a), <c>{hub}-workitems</c>, tables <c>{hub}Instances</c>, <c>{hub}History</c>,
/// <c>{hub}Partitions</c> (leases) and the container <c>{hub}-largemessages</c>.
/// </summary>
internal sealed class TaskHubStorage : IDisposable
{
    /// <summary>A queue message holds 64 KB; DTFx moves anything over 45 KB to a blob.</summary>
    public const int MaxQueueMessageBytes = 45 * 1024;

    /// <summary>A table property holds 64 KB of UTF-16; DTFx moves anything over 60 KB to a blob.</summary>
    public const int MaxTablePropertyBytes = 60 * 1024;

    /// <summary>Queue visibility is at most 7 days; longer timers are re-armed when their message reappears.</summary>
    public static readonly TimeSpan MaxVisibilityDelay = TimeSpan.FromDays(7) - TimeSpan.FromMinutes(5);

    public const string SentinelRowKey = "sentinel";

    /// <summary>A history batch: at most 100 operations, 99 rows and the sentinel.</summary>
    private const int HistoryBatchRows = 99;

    private static readonly string[] OffloadedHistoryProperties = ["Input", "Result", "Reason", "FailureDetails"];
    private static readonly string[] OffloadedInstanceProperties = ["Input", "Output", "CustomStatus"];

    private readonly QueueSignals _signals;

    /// <summary>
    /// Azurite tracks one table transaction at a time per process ("Transaction Overlap"); concurrent batches
    /// against it can stall, so on the emulator history batches go one at a time. Azure Storage has no such limit.
    /// </summary>
    private readonly SemaphoreSlim? _emulatorBatchGate;
    private readonly SemaphoreSlim _createLock = new(1, 1);
    private volatile bool _created;

    public TaskHubStorage(DurableTaskOptions options, QueueSignals signals)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problem = options.Validate();
        if (problem is not null)
        {
            throw new InvalidOperationException("Durable task options are invalid: " + problem);
        }

        Options = options;
        _signals = signals;
        HubName = options.HubName;
        var lower = HubName.ToLowerInvariant();
        ControlQueues = Enumerable.Range(0, options.PartitionCount)
            .Select(i => options.QueueServiceClient!.GetQueueClient(string.Create(CultureInfo.InvariantCulture, $"{lower}-control-{i:00}")))
            .ToArray();
        WorkItems = options.QueueServiceClient!.GetQueueClient($"{lower}-workitems");
        Instances = options.TableServiceClient!.GetTableClient(HubName + "Instances");
        History = options.TableServiceClient.GetTableClient(HubName + "History");
        Partitions = options.TableServiceClient.GetTableClient(HubName + "Partitions");
        LargeMessages = options.BlobServiceClient!.GetBlobContainerClient($"{lower}-largemessages");
        if (History.Uri.IsLoopback)
        {
            _emulatorBatchGate = new SemaphoreSlim(1, 1);
        }
    }

    public static JsonSerializerOptions MessageJson { get; } = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    public DurableTaskOptions Options { get; }

    public string HubName { get; }

    public IReadOnlyList<QueueClient> ControlQueues { get; }

    public QueueClient WorkItems { get; }

    public TableClient Instances { get; }

    public TableClient History { get; }

    public TableClient Partitions { get; }

    public BlobContainerClient LargeMessages { get; }

    public QueueSignals Signals => _signals;

    public void Dispose()
    {
        _createLock.Dispose();
        _emulatorBatchGate?.Dispose();
    }

    public int PartitionOf(string instanceId) => (int)(Fnv1a.Hash(instanceId) % (uint)ControlQueues.Count);

    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        if (_created)
        {
            return;
        }

        await _createLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_created)
            {
                return;
            }

            var tasks = new List<Task>
            {
                WorkItems.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
                Instances.CreateIfNotExistsAsync(cancellationToken),
                History.CreateIfNotExistsAsync(cancellationToken),
                Partitions.CreateIfNotExistsAsync(cancellationToken),
                LargeMessages.CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            };
            tasks.AddRange(ControlQueues.Select(q => (Task)q.CreateIfNotExistsAsync(cancellationToken: cancellationToken)));
            await Task.WhenAll(tasks).ConfigureAwait(false);
            _created = true;
        }
        finally
        {
            _createLock.Release();
        }
    }

    // ---- Queues ----

    /// <summary>Sends an event to its instance's control queue, optionally invisible for <paramref name="delay"/>.</summary>
    public async Task SendControlAsync(TaskMessage message, TimeSpan? delay, CancellationToken cancellationToken)
    {
        var queue = ControlQueues[PartitionOf(message.InstanceId!)];
        await SendAsync(queue, message, delay, cancellationToken).ConfigureAwait(false);
        if (delay is null || delay <= TimeSpan.Zero)
        {
            _signals.Set(queue.Name);
        }
    }

    /// <summary>Sends an activity call to the work-item queue, which every worker reads.</summary>
    public async Task SendWorkItemAsync(TaskMessage message, CancellationToken cancellationToken)
    {
        await SendAsync(WorkItems, message, null, cancellationToken).ConfigureAwait(false);
        _signals.Set(WorkItems.Name);
    }

    private async Task SendAsync(QueueClient queue, TaskMessage message, TimeSpan? delay, CancellationToken cancellationToken)
    {
        message.SentAt = DateTime.UtcNow;
        var json = JsonSerializer.Serialize(message, MessageJson);
        if (Encoding.UTF8.GetByteCount(json) > MaxQueueMessageBytes)
        {
            var blobName = string.Create(CultureInfo.InvariantCulture,
                $"{KeySanitizer.EscapePartitionKey(message.InstanceId!)}/message-{Guid.NewGuid():N}-{message.Event?.EventType}.json.gz");
            await UploadCompressedAsync(blobName, json, cancellationToken).ConfigureAwait(false);
            json = JsonSerializer.Serialize(new TaskMessage { InstanceId = message.InstanceId, SentAt = message.SentAt, BlobName = blobName }, MessageJson);
        }

        // The queue counts visibility in whole seconds; rounding up keeps a timer from firing early.
        TimeSpan? visibility = delay is { } d && d > TimeSpan.Zero
            ? (d > MaxVisibilityDelay ? MaxVisibilityDelay : TimeSpan.FromSeconds(Math.Ceiling(d.TotalSeconds)))
            : null;
        await queue.SendMessageAsync(json, visibility, TimeSpan.FromSeconds(-1), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a queue message, fetching its body from the large-message container when it was moved there.</summary>
    public async Task<TaskMessage> ReadMessageAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        var parsed = JsonSerializer.Deserialize<TaskMessage>(message.MessageText, MessageJson)
            ?? throw new InvalidDataException("Empty queue message");
        if (parsed.BlobName is not null)
        {
            var json = await DownloadCompressedAsync(parsed.BlobName, cancellationToken).ConfigureAwait(false);
            parsed = JsonSerializer.Deserialize<TaskMessage>(json, MessageJson) ?? throw new InvalidDataException("Empty large message");
        }

        return parsed;
    }

    // ---- Blobs ----

    public async Task UploadCompressedAsync(string blobName, string content, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            var bytes = Encoding.UTF8.GetBytes(content);
            await gzip.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }

        buffer.Position = 0;
        await LargeMessages.GetBlobClient(blobName).UploadAsync(buffer, overwrite: true, cancellationToken).ConfigureAwait(false);
    }

    public async Task<string> DownloadCompressedAsync(string blobName, CancellationToken cancellationToken)
    {
        var download = await LargeMessages.GetBlobClient(blobName).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await using var stream = download.Value.Content;
        await using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteBlobsAsync(string instanceId, CancellationToken cancellationToken)
    {
        var prefix = KeySanitizer.EscapePartitionKey(instanceId) + "/";
        await foreach (var blob in LargeMessages.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, cancellationToken).ConfigureAwait(false))
        {
            await LargeMessages.DeleteBlobIfExistsAsync(blob.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task OffloadLargePropertiesAsync(TableEntity entity, string[] properties, string blobPrefix, CancellationToken cancellationToken)
    {
        foreach (var property in properties)
        {
            if (entity.TryGetValue(property, out var value) && value is string text && text.Length * 2 > MaxTablePropertyBytes)
            {
                var blobName = string.Create(CultureInfo.InvariantCulture, $"{blobPrefix}-{Random.Shared.Next():X8}-{property}.json.gz");
                await UploadCompressedAsync(blobName, text, cancellationToken).ConfigureAwait(false);
                entity[property] = null;
                entity[property + "BlobName"] = blobName;
            }
        }
    }

    private async Task<string?> ReadPropertyAsync(TableEntity entity, string property, CancellationToken cancellationToken)
    {
        var blobName = entity.GetString(property + "BlobName");
        return blobName is not null
            ? await DownloadCompressedAsync(blobName, cancellationToken).ConfigureAwait(false)
            : entity.GetString(property);
    }

    // ---- History ----

    /// <summary>Reads the current execution's history and the sentinel's ETag.</summary>
    public async Task<HistoryState> ReadHistoryAsync(string instanceId, CancellationToken cancellationToken)
    {
        var partitionKey = KeySanitizer.EscapePartitionKey(instanceId);
        var rows = new List<TableEntity>();
        TableEntity? sentinel = null;
        await foreach (var row in History.QueryAsync<TableEntity>(e => e.PartitionKey == partitionKey, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.RowKey == SentinelRowKey)
            {
                sentinel = row;
            }
            else
            {
                rows.Add(row);
            }
        }

        var state = new HistoryState();
        if (sentinel is null)
        {
            return state;
        }

        state.SentinelETag = sentinel.ETag;
        state.ExecutionId = sentinel.GetString("ExecutionId");
        // Rows of an earlier execution (before ContinueAsNew or a restart under the same id) may remain past the
        // current history's end; the sentinel says which execution is current.
        foreach (var row in rows.Where(r => r.GetString("ExecutionId") == state.ExecutionId).OrderBy(r => r.RowKey, StringComparer.Ordinal))
        {
            state.Events.Add(await FromEntityAsync(row, cancellationToken).ConfigureAwait(false));
        }

        return state;
    }

    /// <summary>
    /// Appends <paramref name="events"/> at sequence <paramref name="firstSequence"/>, conditional on the sentinel's
    /// ETag. Each batch (99 rows and the sentinel) is one entity-group transaction; the sentinel's ETag chains the
    /// batches, so a second writer fails at its first batch with <see cref="CheckpointConflictException"/>.
    /// </summary>
    public async Task<ETag> AppendHistoryAsync(string instanceId, string executionId, IReadOnlyList<HistoryEvent> events, int firstSequence, ETag? sentinelETag, bool isComplete, CancellationToken cancellationToken)
    {
        var partitionKey = KeySanitizer.EscapePartitionKey(instanceId);
        var etag = sentinelETag;
        var offset = 0;
        do
        {
            var count = Math.Min(HistoryBatchRows, events.Count - offset);
            var actions = new List<TableTransactionAction>(count + 1);
            for (var i = 0; i < count; i++)
            {
                var sequence = firstSequence + offset + i;
                var entity = ToEntity(partitionKey, sequence, executionId, events[offset + i]);
                await OffloadLargePropertiesAsync(entity, OffloadedHistoryProperties,
                    string.Create(CultureInfo.InvariantCulture, $"{partitionKey}/history-{sequence:X16}-{events[offset + i].EventType}"), cancellationToken).ConfigureAwait(false);
                actions.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity));
            }

            var last = offset + count >= events.Count;
            var sentinel = new TableEntity(partitionKey, SentinelRowKey)
            {
                ["ExecutionId"] = executionId,
                ["IsCheckpointComplete"] = last && isComplete,
                ["CheckpointCompletedTimestamp"] = DateTime.UtcNow,
            };
            actions.Add(etag is { } current
                ? new TableTransactionAction(TableTransactionActionType.UpdateMerge, sentinel, current)
                : new TableTransactionAction(TableTransactionActionType.Add, sentinel));
            try
            {
                Response<IReadOnlyList<Response>> response;
                if (_emulatorBatchGate is not null)
                {
                    await _emulatorBatchGate.WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                try
                {
                    response = await History.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _emulatorBatchGate?.Release();
                }

                var sentinelResponse = response.Value[^1];
                etag = sentinelResponse.Headers.ETag;
                if (etag is null)
                {
                    var row = await History.GetEntityAsync<TableEntity>(partitionKey, SentinelRowKey, select: ["ExecutionId"], cancellationToken: cancellationToken).ConfigureAwait(false);
                    etag = row.Value.ETag;
                }
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412)
            {
                throw new CheckpointConflictException($"History of '{instanceId}' was changed by another writer", ex);
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                throw new CheckpointConflictException($"History of '{instanceId}' was changed by another writer", ex);
            }

            offset += count;
        }
        while (offset < events.Count);

        return etag!.Value;
    }

    public async Task DeleteHistoryAsync(string instanceId, CancellationToken cancellationToken)
    {
        var partitionKey = KeySanitizer.EscapePartitionKey(instanceId);
        var keys = new List<string>();
        await foreach (var row in History.QueryAsync<TableEntity>(e => e.PartitionKey == partitionKey, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            keys.Add(row.RowKey);
        }

        foreach (var chunk in keys.Chunk(100))
        {
            var actions = chunk.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partitionKey, k), ETag.All));
            await History.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
        }
    }

    private static TableEntity ToEntity(string partitionKey, int sequence, string executionId, HistoryEvent e)
    {
        var entity = new TableEntity(partitionKey, sequence.ToString("X16", CultureInfo.InvariantCulture))
        {
            ["EventType"] = e.EventType.ToString(),
            ["EventId"] = e.EventId,
            ["ExecutionId"] = executionId,
            ["_Timestamp"] = DateTime.SpecifyKind(e.Timestamp, DateTimeKind.Utc),
            ["IsPlayed"] = e.IsPlayed,
        };
        Set("Name", e.Name);
        Set("Input", e.Input);
        Set("Result", e.Result);
        Set("TaskScheduledId", e.TaskScheduledId);
        Set("FireAt", e.FireAt is { } f ? DateTime.SpecifyKind(f, DateTimeKind.Utc) : null);
        Set("InstanceId", e.InstanceId);
        Set("NewExecutionId", e.ExecutionId);
        Set("Reason", e.Reason);
        Set("FailureDetails", e.FailureDetails is null ? null : JsonSerializer.Serialize(e.FailureDetails, MessageJson));
        Set("OrchestrationStatus", e.OrchestrationStatus?.ToString());
        Set("ParentInstanceId", e.ParentInstanceId);
        Set("ParentExecutionId", e.ParentExecutionId);
        Set("ParentName", e.ParentName);
        Set("ParentTaskScheduledId", e.ParentTaskScheduledId);
        Set("ScheduledStartTime", e.ScheduledStartTime is { } s ? DateTime.SpecifyKind(s, DateTimeKind.Utc) : null);
        Set("MessageId", e.MessageId);
        return entity;

        void Set(string key, object? value)
        {
            if (value is not null)
            {
                entity[key] = value;
            }
        }
    }

    private async Task<HistoryEvent> FromEntityAsync(TableEntity row, CancellationToken cancellationToken)
    {
        var failure = await ReadPropertyAsync(row, "FailureDetails", cancellationToken).ConfigureAwait(false);
        return new HistoryEvent
        {
            EventType = Enum.Parse<EventType>(row.GetString("EventType")),
            EventId = row.GetInt32("EventId") ?? -1,
            Timestamp = row.GetDateTime("_Timestamp") ?? default,
            IsPlayed = row.GetBoolean("IsPlayed") ?? false,
            Name = row.GetString("Name"),
            Input = await ReadPropertyAsync(row, "Input", cancellationToken).ConfigureAwait(false),
            Result = await ReadPropertyAsync(row, "Result", cancellationToken).ConfigureAwait(false),
            TaskScheduledId = row.GetInt32("TaskScheduledId"),
            FireAt = row.GetDateTime("FireAt"),
            InstanceId = row.GetString("InstanceId"),
            ExecutionId = row.GetString("NewExecutionId"),
            Reason = await ReadPropertyAsync(row, "Reason", cancellationToken).ConfigureAwait(false),
            FailureDetails = failure is null ? null : JsonSerializer.Deserialize<TaskFailureDetails>(failure, MessageJson),
            OrchestrationStatus = row.GetString("OrchestrationStatus") is { } s ? Enum.Parse<OrchestrationRuntimeStatus>(s) : null,
            ParentInstanceId = row.GetString("ParentInstanceId"),
            ParentExecutionId = row.GetString("ParentExecutionId"),
            ParentName = row.GetString("ParentName"),
            ParentTaskScheduledId = row.GetInt32("ParentTaskScheduledId"),
            ScheduledStartTime = row.GetDateTime("ScheduledStartTime"),
            MessageId = row.GetString("MessageId"),
        };
    }

    // ---- Instances ----

    public async Task<TableEntity?> ReadInstanceAsync(string instanceId, CancellationToken cancellationToken)
    {
        var response = await Instances.GetEntityIfExistsAsync<TableEntity>(KeySanitizer.EscapePartitionKey(instanceId), "", cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Writes the Instances row; large values go to blobs first. <paramref name="etag"/> makes it conditional.</summary>
    public async Task WriteInstanceAsync(TableEntity entity, ETag? etag, bool add, CancellationToken cancellationToken)
    {
        await OffloadLargePropertiesAsync(entity, OffloadedInstanceProperties,
            string.Create(CultureInfo.InvariantCulture, $"{entity.PartitionKey}/instance-{DateTime.UtcNow.Ticks:X16}"), cancellationToken).ConfigureAwait(false);
        foreach (var property in OffloadedInstanceProperties)
        {
            // A value small again must not leave the pointer of an earlier large one behind.
            if (entity.TryGetValue(property, out var value) && value is not null && !entity.ContainsKey(property + "BlobName"))
            {
                entity[property + "BlobName"] = null;
            }
        }

        if (add)
        {
            await Instances.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
        }
        else if (etag is { } condition)
        {
            await Instances.UpdateEntityAsync(entity, condition, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await Instances.UpsertEntityAsync(entity, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<OrchestrationMetadata> ToMetadataAsync(TableEntity row, bool includeInputsAndOutputs, CancellationToken cancellationToken)
    {
        var status = Enum.TryParse<OrchestrationRuntimeStatus>(row.GetString("RuntimeStatus"), out var s) ? s : OrchestrationRuntimeStatus.Pending;
        var output = includeInputsAndOutputs || status == OrchestrationRuntimeStatus.Failed
            ? await ReadPropertyAsync(row, "Output", cancellationToken).ConfigureAwait(false)
            : null;
        TaskFailureDetails? failure = null;
        if (status == OrchestrationRuntimeStatus.Failed && output is not null)
        {
            try
            {
                failure = JsonSerializer.Deserialize<TaskFailureDetails>(output, Options.SerializerOptions);
            }
            catch (JsonException)
            {
                failure = new TaskFailureDetails("Unknown", output);
            }
        }

        return new OrchestrationMetadata(row.GetString("Name") ?? "", KeySanitizer.UnescapePartitionKey(row.PartitionKey), Options.SerializerOptions)
        {
            ExecutionId = row.GetString("ExecutionId"),
            RuntimeStatus = status,
            CreatedAt = row.GetDateTimeOffset("CreatedTime") ?? default,
            LastUpdatedAt = row.GetDateTimeOffset("LastUpdatedTime") ?? default,
            CompletedAt = row.GetDateTimeOffset("CompletedTime"),
            ScheduledStartAt = row.GetDateTimeOffset("ScheduledStartTime"),
            SerializedInput = includeInputsAndOutputs ? await ReadPropertyAsync(row, "Input", cancellationToken).ConfigureAwait(false) : null,
            SerializedOutput = includeInputsAndOutputs ? output : null,
            SerializedCustomStatus = await ReadPropertyAsync(row, "CustomStatus", cancellationToken).ConfigureAwait(false),
            FailureDetails = failure,
        };
    }

    public static bool IsTerminal(OrchestrationRuntimeStatus status) =>
        status is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed
            or OrchestrationRuntimeStatus.Terminated or OrchestrationRuntimeStatus.Canceled;
}
