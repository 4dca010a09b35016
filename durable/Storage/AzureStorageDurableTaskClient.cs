using System.Text.Json;
using Azure;
using Azure.Data.Tables;

namespace EnvFabric.Durable.Storage;

/// <summary>The client over the task hub's queues and tables.</summary>
internal sealed class AzureStorageDurableTaskClient : DurableTaskClient
{
    private readonly TaskHubStorage _storage;
    private readonly JsonSerializerOptions _json;

    public AzureStorageDurableTaskClient(TaskHubStorage storage)
    {
        _storage = storage;
        _json = storage.Options.SerializerOptions;
    }

    public override string HubName => _storage.HubName;

    public override async Task<string> ScheduleNewOrchestrationInstanceAsync(string orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(orchestratorName);
        var instanceId = options?.InstanceId ?? Guid.NewGuid().ToString("N");
        ValidateInstanceId(instanceId);
        await _storage.EnsureCreatedAsync(cancellation).ConfigureAwait(false);

        var existing = await _storage.ReadInstanceAsync(instanceId, cancellation).ConfigureAwait(false);
        if (existing is not null && Enum.TryParse<OrchestrationRuntimeStatus>(existing.GetString("RuntimeStatus"), out var status) && !TaskHubStorage.IsTerminal(status))
        {
            throw new OrchestrationAlreadyExistsException($"An orchestration with instance id '{instanceId}' already exists and is {status}.");
        }

        var now = DateTime.UtcNow;
        var executionId = Guid.NewGuid().ToString("N");
        var serializedInput = Serialize(input);
        var startAt = options?.StartAt?.UtcDateTime;
        var started = new HistoryEvent
        {
            EventType = EventType.ExecutionStarted,
            Timestamp = now,
            Name = orchestratorName,
            Input = serializedInput,
            ExecutionId = executionId,
            ScheduledStartTime = startAt,
            FromClient = true,
        };

        // DTFx's order: the start message first, then the Instances row (conditional). A row write that loses a
        // race leaves a start message whose ExecutionId matches no row; the worker drops it.
        var delay = startAt is { } at && at > now ? at - now : (TimeSpan?)null;
        await _storage.SendControlAsync(new TaskMessage { InstanceId = instanceId, ExecutionId = executionId, Event = started }, delay, cancellation).ConfigureAwait(false);

        var row = new TableEntity(KeySanitizer.EscapePartitionKey(instanceId), "")
        {
            ["Name"] = orchestratorName,
            ["Version"] = "",
            ["RuntimeStatus"] = nameof(OrchestrationRuntimeStatus.Pending),
            ["Input"] = serializedInput,
            ["Output"] = null,
            ["CustomStatus"] = null,
            ["CreatedTime"] = now,
            ["LastUpdatedTime"] = now,
            ["CompletedTime"] = null,
            ["ExecutionId"] = executionId,
            ["ScheduledStartTime"] = startAt,
            ["TaskHubName"] = _storage.HubName,
        };
        try
        {
            await _storage.WriteInstanceAsync(row, existing?.ETag, add: existing is null, cancellation).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            throw new OrchestrationAlreadyExistsException($"An orchestration with instance id '{instanceId}' was created concurrently.", ex);
        }

        return instanceId;
    }

    public override async Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        await _storage.EnsureCreatedAsync(cancellation).ConfigureAwait(false);
        var row = await _storage.ReadInstanceAsync(instanceId, cancellation).ConfigureAwait(false);
        return row is null ? null : await _storage.ToMetadataAsync(row, getInputsAndOutputs, cancellation).ConfigureAwait(false);
    }

    public override async Task<OrchestrationQueryResult> QueryInstancesAsync(OrchestrationQuery query, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await _storage.EnsureCreatedAsync(cancellation).ConfigureAwait(false);
        var filter = BuildFilter(query.CreatedFrom, query.CreatedTo, query.Statuses, query.InstanceIdPrefix);
        var pageSize = Math.Clamp(query.PageSize, 1, 1000);
        await foreach (var page in _storage.Instances.QueryAsync<TableEntity>(filter, pageSize, cancellationToken: cancellation)
            .AsPages(string.IsNullOrEmpty(query.ContinuationToken) ? null : query.ContinuationToken, pageSize).ConfigureAwait(false))
        {
            var items = new List<OrchestrationMetadata>(page.Values.Count);
            foreach (var row in page.Values)
            {
                items.Add(await _storage.ToMetadataAsync(row, query.FetchInputsAndOutputs, cancellation).ConfigureAwait(false));
            }

            return new OrchestrationQueryResult(items, page.ContinuationToken);
        }

        return new OrchestrationQueryResult([], null);
    }

    public override async Task<IReadOnlyList<HistoryEventInfo>> GetInstanceHistoryAsync(string instanceId, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        await _storage.EnsureCreatedAsync(cancellation).ConfigureAwait(false);
        var history = await _storage.ReadHistoryAsync(instanceId, cancellation).ConfigureAwait(false);
        return history.Events
            .Select(e => new HistoryEventInfo(e.EventType.ToString(), e.EventId, e.Timestamp, e.Name, e.Input, e.Result, e.TaskScheduledId, e.FireAt, e.FailureDetails))
            .ToList();
    }

    public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        return SendAsync(instanceId, new HistoryEvent { EventType = EventType.EventRaised, Name = eventName, Input = Serialize(eventPayload) }, cancellation);
    }

    public override Task TerminateInstanceAsync(string instanceId, object? reason = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        return SendAsync(instanceId, new HistoryEvent { EventType = EventType.ExecutionTerminated, Input = Serialize(reason) }, cancellation);
    }

    public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        return SendAsync(instanceId, new HistoryEvent { EventType = EventType.ExecutionSuspended, Reason = reason }, cancellation);
    }

    public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        return SendAsync(instanceId, new HistoryEvent { EventType = EventType.ExecutionResumed, Reason = reason }, cancellation);
    }

    public override async Task<PurgeResult> PurgeInstanceAsync(string instanceId, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        await _storage.EnsureCreatedAsync(cancellation).ConfigureAwait(false);
        var row = await _storage.ReadInstanceAsync(instanceId, cancellation).ConfigureAwait(false);
        if (row is null || !Enum.TryParse<OrchestrationRuntimeStatus>(row.GetString("RuntimeStatus"), out var status) || !TaskHubStorage.IsTerminal(status))
        {
            return new PurgeResult(0);
        }

        return new PurgeResult(await PurgeAsync(instanceId, row, cancellation).ConfigureAwait(false) ? 1 : 0);
    }

    public override async Task<PurgeResult> PurgeInstancesAsync(PurgeInstancesFilter filter, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await _storage.EnsureCreatedAsync(cancellation).ConfigureAwait(false);
        var statuses = filter.Statuses is { Count: > 0 } given
            ? given.Where(TaskHubStorage.IsTerminal).ToArray()
            : [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated, OrchestrationRuntimeStatus.Canceled];
        if (statuses.Length == 0)
        {
            return new PurgeResult(0);
        }

        var rows = new List<TableEntity>();
        await foreach (var row in _storage.Instances.QueryAsync<TableEntity>(BuildFilter(filter.CreatedFrom, filter.CreatedTo, statuses, null), cancellationToken: cancellation).ConfigureAwait(false))
        {
            rows.Add(row);
        }

        var purged = 0;
        foreach (var row in rows)
        {
            if (await PurgeAsync(KeySanitizer.UnescapePartitionKey(row.PartitionKey), row, cancellation).ConfigureAwait(false))
            {
                purged++;
            }
        }

        return new PurgeResult(purged);
    }

    public override async Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        return await PollAsync(instanceId, getInputsAndOutputs, m => m.RuntimeStatus != OrchestrationRuntimeStatus.Pending, cancellation).ConfigureAwait(false);
    }

    public override async Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        return await PollAsync(instanceId, getInputsAndOutputs, m => m.IsCompleted, cancellation).ConfigureAwait(false);
    }

    private async Task<OrchestrationMetadata> PollAsync(string instanceId, bool getInputsAndOutputs, Func<OrchestrationMetadata, bool> done, CancellationToken cancellation)
    {
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var metadata = await GetInstanceAsync(instanceId, getInputsAndOutputs, cancellation).ConfigureAwait(false);
            if (metadata is not null && done(metadata))
            {
                return metadata;
            }

            await Task.Delay(delay, cancellation).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 1.5, 1000));
        }
    }

    private async Task<bool> PurgeAsync(string instanceId, TableEntity row, CancellationToken cancellation)
    {
        await _storage.DeleteHistoryAsync(instanceId, cancellation).ConfigureAwait(false);
        await _storage.DeleteBlobsAsync(instanceId, cancellation).ConfigureAwait(false);
        try
        {
            // Conditional on the row read: an instance restarted meanwhile under the same id is not deleted.
            await _storage.Instances.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, cancellation).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return false;
        }
    }

    private async Task SendAsync(string instanceId, HistoryEvent e, CancellationToken cancellation)
    {
        await _storage.EnsureCreatedAsync(cancellation).ConfigureAwait(false);
        e.Timestamp = DateTime.UtcNow;
        await _storage.SendControlAsync(new TaskMessage { InstanceId = instanceId, Event = e }, null, cancellation).ConfigureAwait(false);
    }

    private string? Serialize(object? value) => value is null ? null : JsonSerializer.Serialize(value, value.GetType(), _json);

    private static string BuildFilter(DateTimeOffset? from, DateTimeOffset? to, IReadOnlyCollection<OrchestrationRuntimeStatus>? statuses, string? prefix)
    {
        var clauses = new List<string>();
        if (from is { } f)
        {
            clauses.Add(TableClient.CreateQueryFilter($"CreatedTime ge {f}"));
        }

        if (to is { } t)
        {
            clauses.Add(TableClient.CreateQueryFilter($"CreatedTime le {t}"));
        }

        if (statuses is { Count: > 0 })
        {
            clauses.Add("(" + string.Join(" or ", statuses.Select(s => TableClient.CreateQueryFilter($"RuntimeStatus eq {s.ToString()}"))) + ")");
        }

        if (!string.IsNullOrEmpty(prefix))
        {
            var low = KeySanitizer.EscapePartitionKey(prefix);
            var high = low[..^1] + (char)(low[^1] + 1);
            clauses.Add(TableClient.CreateQueryFilter($"PartitionKey ge {low} and PartitionKey lt {high}"));
        }

        return clauses.Count == 0 ? "" : string.Join(" and ", clauses);
    }

    internal static void ValidateInstanceId(string instanceId)
    {
        if (instanceId.Length > 256)
        {
            throw new ArgumentException("An instance id is at most 256 characters.", nameof(instanceId));
        }
    }
}
