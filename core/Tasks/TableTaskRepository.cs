using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Tasks;

/// <summary>
/// <see cref="ITaskRepository"/> on Azure Tables. <c>Tasks</c>: partition <c>task</c> (row key = the id, zero
/// padded so rows sort by id), partition <c>name</c> (the unique-name index: row key = name, property
/// <c>TaskId</c>) and the counter row <c>counter/task</c>. <c>Executions</c>: partition = the task's padded id,
/// row key = the execution id (time-ordered).
/// </summary>
public sealed class TableTaskRepository(StorageAccount storage, StorageNames names, TimeProvider time) : ITaskRepository
{
    private const string TaskPartition = "task";
    private const string NamePartition = "name";
    private const string UuidPartition = "uuid";
    private const string RunPartition = "run";
    private const string CounterPartition = "counter";
    private const string CounterRow = "task";
    private const int MaxConflictRetries = 50;
    private const string CountRowPrefix = "~count";
    private const string AllNamespaces = "*";
    private const int CountShards = 16;

    /// <summary>How long an add or delete keeps retrying while other writers move the count rows (each round one of them wins).</summary>
    private static readonly TimeSpan CountContentionBound = TimeSpan.FromSeconds(60);

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly TableClient _tasks = storage.Tables.GetTableClient(names.Table(TableTaskReferences.TasksTable));
    private readonly TableClient _executions = storage.Tables.GetTableClient(names.Table(TableTaskReferences.ExecutionsTable));

    /// <summary>The row key of a task id.</summary>
    public static string Key(long taskId) => taskId.ToString("D12", CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
    {
        await _tasks.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        await _executions.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<long> AllocateIdAsync(CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < MaxConflictRetries; attempt++)
        {
            var current = await _tasks.GetEntityIfExistsAsync<TableEntity>(CounterPartition, CounterRow, cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                if (!current.HasValue)
                {
                    await _tasks.AddEntityAsync(new TableEntity(CounterPartition, CounterRow) { ["Next"] = 2L }, cancellationToken).ConfigureAwait(false);
                    return 1;
                }

                var row = current.Value!;
                var id = row.GetInt64("Next") ?? 1;
                row["Next"] = id + 1;
                await _tasks.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return id;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Another host took this id; read again.
                await Task.Delay(Random.Shared.Next(1, 10 + attempt * 5), cancellationToken).ConfigureAwait(false);
            }
        }

        throw new InvalidOperationException("could not allocate a task id: the counter row stayed contended");
    }

    /// <inheritdoc />
    public async Task<bool> ReserveNameAsync(string name, long taskId, CancellationToken cancellationToken = default)
    {
        try
        {
            await _tasks.AddEntityAsync(new TableEntity(NamePartition, NameKey(name)) { ["TaskId"] = taskId }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return await FindByNameAsync(name, cancellationToken).ConfigureAwait(false) == taskId;
        }
    }

    /// <inheritdoc />
    public async Task ReleaseNameAsync(string name, long taskId, CancellationToken cancellationToken = default)
    {
        var row = await _tasks.GetEntityIfExistsAsync<TableEntity>(NamePartition, NameKey(name), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (row.HasValue && row.Value!.GetInt64("TaskId") == taskId)
        {
            try
            {
                await _tasks.DeleteEntityAsync(NamePartition, NameKey(name), row.Value.ETag, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // Already gone, or re-taken by another task meanwhile.
            }
        }
    }

    /// <inheritdoc />
    public async Task<long?> FindByNameAsync(string name, CancellationToken cancellationToken = default)
    {
        var row = await _tasks.GetEntityIfExistsAsync<TableEntity>(NamePartition, NameKey(name), cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue ? row.Value!.GetInt64("TaskId") : null;
    }

    /// <inheritdoc />
    public async Task<bool> ReserveUuidAsync(string uuid, long taskId, CancellationToken cancellationToken = default)
    {
        try
        {
            await _tasks.AddEntityAsync(new TableEntity(UuidPartition, UuidKey(uuid)) { ["TaskId"] = taskId }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return await FindByUuidAsync(uuid, cancellationToken).ConfigureAwait(false) == taskId;
        }
    }

    /// <inheritdoc />
    public async Task ReleaseUuidAsync(string uuid, long taskId, CancellationToken cancellationToken = default)
    {
        var row = await _tasks.GetEntityIfExistsAsync<TableEntity>(UuidPartition, UuidKey(uuid), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (row.HasValue && row.Value!.GetInt64("TaskId") == taskId)
        {
            try
            {
                await _tasks.DeleteEntityAsync(UuidPartition, UuidKey(uuid), row.Value.ETag, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                // Already gone.
            }
        }
    }

    /// <inheritdoc />
    public async Task<long?> FindByUuidAsync(string uuid, CancellationToken cancellationToken = default)
    {
        if (!IsKeySafe(uuid))
        {
            return null;
        }

        var row = await _tasks.GetEntityIfExistsAsync<TableEntity>(UuidPartition, uuid, cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue ? row.Value!.GetInt64("TaskId") : null;
    }

    /// <inheritdoc />
    public async Task<ExecutionRecord?> FindExecutionAsync(string executionId, CancellationToken cancellationToken = default)
    {
        if (!IsKeySafe(executionId))
        {
            return null;
        }

        var row = await _tasks.GetEntityIfExistsAsync<TableEntity>(RunPartition, executionId, cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue && row.Value!.GetInt64("TaskId") is { } taskId
            ? await GetExecutionAsync(taskId, executionId, cancellationToken).ConfigureAwait(false)
            : null;
    }

    /// <inheritdoc />
    public async Task<TaskRecord?> GetAsync(long taskId, CancellationToken cancellationToken = default)
    {
        var row = await _tasks.GetEntityIfExistsAsync<TableEntity>(TaskPartition, Key(taskId), cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue ? FromEntity(row.Value!) : null;
    }

    /// <inheritdoc />
    public async Task<(TaskSaveOutcome Outcome, TaskRecord? Saved)> AddAsync(TaskRecord task, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        var deadline = time.GetUtcNow() + CountContentionBound;
        for (var attempt = 0; time.GetUtcNow() < deadline; attempt++)
        {
            // The row and the counts (all, and the task's namespace) change in one transaction: the counts never drift.
            var actions = new List<TableTransactionAction> { new(TableTransactionActionType.Add, ToEntity(task)) };
            actions.AddRange(await CountChangesAsync(task.TaskId, task.Namespace, +1, cancellationToken).ConfigureAwait(false));
            try
            {
                var response = await _tasks.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                return (TaskSaveOutcome.Saved, task with { ETag = response.Value[0].Headers.ETag?.ToString() });
            }
            catch (TableTransactionFailedException ex) when (ex.FailedTransactionActionIndex == 0 && ex.Status == 409)
            {
                return (TaskSaveOutcome.Conflict, null);
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412)
            {
                // Another task was added or deleted meanwhile: read the counts again.
                await Task.Delay(Random.Shared.Next(1, 10 + Math.Min(attempt, 20) * 5), cancellationToken).ConfigureAwait(false);
            }
        }

        throw new InvalidOperationException($"the task counts stayed contended for {CountContentionBound.TotalSeconds:0} s; the task was not added");
    }

    /// <summary>How many tasks exist, in all or in one namespace: the sum of the count rows, not a scan.</summary>
    public async Task<int> CountAsync(string? ns = null, CancellationToken cancellationToken = default)
    {
        var total = 0;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {TaskPartition} and RowKey ge {CountRowPrefix}");
        await foreach (var row in TolerateMissingTable(_tasks.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false))
        {
            if (row.GetString("Namespace") == (ns ?? AllNamespaces))
            {
                total += row.GetInt32("Count") ?? 0;
            }
        }

        return total;
    }

    private async Task<List<TableTransactionAction>> CountChangesAsync(long taskId, string ns, int delta, CancellationToken cancellationToken)
    {
        var changes = new List<TableTransactionAction>(2);
        foreach (var scope in new[] { AllNamespaces, ns })
        {
            var key = CountKey(taskId, scope);
            var row = await _tasks.GetEntityIfExistsAsync<TableEntity>(TaskPartition, key, cancellationToken: cancellationToken).ConfigureAwait(false);
            var count = (row.HasValue ? row.Value!.GetInt32("Count") ?? 0 : 0) + delta;
            var entity = new TableEntity(TaskPartition, key) { ["Count"] = count, ["Namespace"] = scope };
            changes.Add(row.HasValue
                ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, row.Value!.ETag)
                : new TableTransactionAction(TableTransactionActionType.Add, entity));
        }

        return changes;
    }

    /// <summary>
    /// A count row: per scope (all, or one namespace) and per shard of the task id, so concurrent adds of
    /// different tasks seldom contend for one row. Count rows sort after every task row (ids are digits).
    /// </summary>
    private static string CountKey(long taskId, string scope) =>
        string.Create(CultureInfo.InvariantCulture, $"{CountRowPrefix}:{taskId % CountShards:D2}:{scope}");

    /// <inheritdoc />
    public async Task<(TaskSaveOutcome Outcome, TaskRecord? Saved)> UpdateAsync(TaskRecord task, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        var stamped = task with { UpdatedAt = time.GetUtcNow() };
        try
        {
            var etag = task.ETag is null ? ETag.All : new ETag(task.ETag);
            var response = await _tasks.UpdateEntityAsync(ToEntity(stamped), etag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return (TaskSaveOutcome.Saved, stamped with { ETag = response.Headers.ETag?.ToString() });
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            return (TaskSaveOutcome.Conflict, null);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return (TaskSaveOutcome.NotFound, null);
        }
    }

    /// <inheritdoc />
    public async Task<TaskRecord?> MutateAsync(long taskId, Func<TaskRecord, TaskRecord?> change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        for (var attempt = 0; attempt < MaxConflictRetries; attempt++)
        {
            var current = await GetAsync(taskId, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                return null;
            }

            var changed = change(current);
            if (changed is null)
            {
                return current;
            }

            var (outcome, saved) = await UpdateAsync(changed with { ETag = current.ETag }, cancellationToken).ConfigureAwait(false);
            switch (outcome)
            {
                case TaskSaveOutcome.Saved:
                    return saved;
                case TaskSaveOutcome.NotFound:
                    return null;
                default:
                    await Task.Delay(Random.Shared.Next(1, 10 + attempt * 5), cancellationToken).ConfigureAwait(false);
                    break;
            }
        }

        throw new InvalidOperationException($"task {taskId} stayed contended; the change was not written");
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(long taskId, CancellationToken cancellationToken = default)
    {
        var deadline = time.GetUtcNow() + CountContentionBound;
        for (var attempt = 0; time.GetUtcNow() < deadline; attempt++)
        {
            var task = await GetAsync(taskId, cancellationToken).ConfigureAwait(false);
            if (task is null)
            {
                return false;
            }

            var actions = new List<TableTransactionAction> { new(TableTransactionActionType.Delete, new TableEntity(TaskPartition, Key(taskId)), ETag.All) };
            actions.AddRange(await CountChangesAsync(taskId, task.Namespace, -1, cancellationToken).ConfigureAwait(false));
            try
            {
                await _tasks.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (TableTransactionFailedException ex) when (ex.FailedTransactionActionIndex == 0 && ex.Status == 404)
            {
                return false;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412)
            {
                await Task.Delay(Random.Shared.Next(1, 10 + Math.Min(attempt, 20) * 5), cancellationToken).ConfigureAwait(false);
            }
        }

        throw new InvalidOperationException($"the task counts stayed contended for {CountContentionBound.TotalSeconds:0} s; task {taskId} was not deleted");
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<TaskRecord> ListAsync(string? ns = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var filter = TaskFilter(ns);
        await foreach (var row in TolerateMissingTable(_tasks.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken), cancellationToken).ConfigureAwait(false))
        {
            yield return FromEntity(row);
        }
    }

    /// <inheritdoc />
    public async Task<(IReadOnlyList<TaskRecord> Items, int? Total)> ListPageAsync(int page, int size, string? ns = null, bool withTotal = false, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(page, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var skip = (long)(page - 1) * size;

        // Rows before the page are read as keys only, the page's rows in full; the total comes from the count rows.
        var filter = TaskFilter(ns);
        var keys = new List<string>();
        var seen = 0;
        try
        {
            await foreach (var row in _tasks.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (seen >= skip)
                {
                    keys.Add(row.RowKey);
                }

                seen++;
                if (keys.Count == size)
                {
                    break;
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return ([], withTotal ? 0 : null);
        }

        var items = new List<TaskRecord>(keys.Count);
        if (keys.Count > 0)
        {
            var range = TableClient.CreateQueryFilter($"PartitionKey eq {TaskPartition} and RowKey ge {keys[0]} and RowKey le {keys[^1]}");
            await foreach (var row in _tasks.QueryAsync<TableEntity>(range, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var task = FromEntity(row);
                if (ns is null || task.Namespace == ns)
                {
                    items.Add(task);
                }
            }
        }

        return (items, withTotal ? await CountAsync(ns, cancellationToken).ConfigureAwait(false) : null);
    }

    /// <inheritdoc />
    public async Task UpsertExecutionAsync(ExecutionRecord execution, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(execution);
        if (execution.Status is ExecutionStatuses.Queued or ExecutionStatuses.Skipped)
        {
            // First written so: the index row comes first, so an execution that exists can always be found by its id.
            await _tasks.UpsertEntityAsync(new TableEntity(RunPartition, execution.ExecutionId) { ["TaskId"] = execution.TaskId }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        }

        await _executions.UpsertEntityAsync(ToEntity(execution), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ExecutionRecord?> GetExecutionAsync(long taskId, string executionId, CancellationToken cancellationToken = default)
    {
        if (!IsKeySafe(executionId))
        {
            return null;
        }

        try
        {
            var row = await _executions.GetEntityIfExistsAsync<TableEntity>(Key(taskId), executionId, cancellationToken: cancellationToken).ConfigureAwait(false);
            return row.HasValue ? ExecutionFromEntity(row.Value!) : null;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task<bool> SetExecutionTagsAsync(long taskId, string executionId, IReadOnlyList<string> tags, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tags);
        if (!IsKeySafe(executionId))
        {
            return false;
        }

        try
        {
            // Merge with any ETag: only the row must exist; the columns the run writes stay as they are.
            var entity = new TableEntity(Key(taskId), executionId) { ["TagsJson"] = JsonSerializer.Serialize(tags, Json) };
            await _executions.UpdateEntityAsync(entity, ETag.All, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ExecutionRecord>> ListExecutionsAsync(long taskId, CancellationToken cancellationToken = default)
    {
        var list = new List<ExecutionRecord>();
        try
        {
            await foreach (var row in _executions.QueryAsync<TableEntity>($"PartitionKey eq '{Key(taskId)}'", cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                list.Add(ExecutionFromEntity(row));
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No executions table yet.
        }

        return list;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ExecutionRecord> ListExecutionsSinceAsync(DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var rows = _executions.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"QueuedAt ge {since}"), cancellationToken: cancellationToken);
        await foreach (var row in TolerateMissingTable(rows, cancellationToken).ConfigureAwait(false))
        {
            yield return ExecutionFromEntity(row);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ExecutionRecord> ListUnfinishedExecutionsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var rows = _executions.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"Status eq {ExecutionStatuses.Queued} or Status eq {ExecutionStatuses.Running}"), cancellationToken: cancellationToken);
        await foreach (var row in TolerateMissingTable(rows, cancellationToken).ConfigureAwait(false))
        {
            yield return ExecutionFromEntity(row);
        }
    }

    /// <summary>The rows of a query; a table that does not exist (yet) has none.</summary>
    private static async IAsyncEnumerable<TableEntity> TolerateMissingTable(AsyncPageable<TableEntity> rows, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var e = rows.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await e.MoveNextAsync().ConfigureAwait(false))
                {
                    yield break;
                }
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                yield break;
            }

            yield return e.Current;
        }
    }

    /// <inheritdoc />
    public async Task<int> DeleteExecutionsAsync(long taskId, CancellationToken cancellationToken = default)
    {
        var rows = await ListExecutionsAsync(taskId, cancellationToken).ConfigureAwait(false);
        await DeleteRowsAsync(rows, cancellationToken).ConfigureAwait(false);
        return rows.Count;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ExecutionRecord>> DeleteExecutionsEndedBeforeAsync(DateTimeOffset before, CancellationToken cancellationToken = default)
    {
        var old = new List<ExecutionRecord>();
        try
        {
            await foreach (var row in _executions.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"EndTime lt {before}"), cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                old.Add(ExecutionFromEntity(row));
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return old;
        }

        await DeleteRowsAsync(old, cancellationToken).ConfigureAwait(false);
        return old;
    }

    private async Task DeleteRowsAsync(IEnumerable<ExecutionRecord> rows, CancellationToken cancellationToken)
    {
        rows = rows.ToList();
        await DeleteIndexRowsAsync(rows.Select(r => r.ExecutionId), cancellationToken).ConfigureAwait(false);
        foreach (var group in rows.GroupBy(r => Key(r.TaskId)))
        {
            // A transaction holds at most 100 operations of one partition.
            foreach (var chunk in group.Chunk(100))
            {
                var actions = chunk.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(group.Key, r.ExecutionId), ETag.All));
                try
                {
                    await _executions.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                }
                catch (TableTransactionFailedException)
                {
                    // A row vanished meanwhile; delete the rest one by one.
                    foreach (var r in chunk)
                    {
                        try
                        {
                            await _executions.DeleteEntityAsync(group.Key, r.ExecutionId, ETag.All, cancellationToken).ConfigureAwait(false);
                        }
                        catch (RequestFailedException ex) when (ex.Status == 404)
                        {
                        }
                    }
                }
            }
        }
    }

    /// <summary>The task rows (not the count rows), of one namespace or all.</summary>
    private static string TaskFilter(string? ns) => ns is null
        ? $"PartitionKey eq '{TaskPartition}' and RowKey lt '{CountRowPrefix}'"
        : TableClient.CreateQueryFilter($"PartitionKey eq {TaskPartition} and RowKey lt {CountRowPrefix} and Namespace eq {ns}");

    /// <summary>Whether <paramref name="value"/> may be a table key (no / \ # ? or control characters).</summary>
    public static bool IsKeySafe(string? value) =>
        !string.IsNullOrEmpty(value) && value.Length <= 255 && value.IndexOfAny(['/', '\\', '#', '?']) < 0 && !value.Any(char.IsControl);

    private async Task DeleteIndexRowsAsync(IEnumerable<string> executionIds, CancellationToken cancellationToken)
    {
        foreach (var chunk in executionIds.Where(IsKeySafe).Chunk(100))
        {
            try
            {
                await _tasks.SubmitTransactionAsync(chunk.Select(id => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(RunPartition, id), ETag.All)), cancellationToken).ConfigureAwait(false);
            }
            catch (TableTransactionFailedException)
            {
                // A row was missing (written before the index existed); delete the rest one by one.
                foreach (var id in chunk)
                {
                    try
                    {
                        await _tasks.DeleteEntityAsync(RunPartition, id, ETag.All, cancellationToken).ConfigureAwait(false);
                    }
                    catch (RequestFailedException ex) when (ex.Status == 404)
                    {
                        // Not indexed.
                    }
                }
            }
        }
    }

    private static string UuidKey(string uuid) =>
        IsKeySafe(uuid) ? uuid : throw new ArgumentException("a uuid cannot contain / \\ # ? or control characters", nameof(uuid));

    private static string NameKey(string name) =>
        IsKeySafe(name) ? name : throw new ArgumentException("a task name cannot contain / \\ # ? or control characters", nameof(name));

    private static TableEntity ToEntity(TaskRecord t) => new(TaskPartition, Key(t.TaskId))
    {
        ["TaskId"] = t.TaskId,
        ["Name"] = t.Name,
        ["Namespace"] = t.Namespace,
        [TableTaskReferences.EnvironmentProperty] = t.Environment,
        ["Command"] = t.Command,
        ["Requirements"] = t.Requirements,
        ["Project"] = t.Project,
        ["TriggerJson"] = JsonSerializer.Serialize(t.Trigger, Json),
        ["TriggerKind"] = JsonSerializer.Serialize(t.Trigger.Kind, Json).Trim('"'),
        ["CronExpression"] = t.Trigger.CronExpression,
        ["RetryJson"] = JsonSerializer.Serialize(t.Retry, Json),
        ["TimeoutSeconds"] = t.TimeoutSeconds,
        ["Priority"] = t.Priority,
        ["Overlap"] = t.Overlap,
        ["CallbackUrl"] = t.CallbackUrl,
        ["Status"] = t.Status,
        ["CreatedAt"] = t.CreatedAt,
        ["UpdatedAt"] = t.UpdatedAt,
        ["NextRunAt"] = t.NextRunAt,
        ["LastRunAt"] = t.LastRunAt,
        ["LastRunDuration"] = t.LastRunDuration,
        ["CompletedAt"] = t.CompletedAt,
        ["CurrentExecutionId"] = t.CurrentExecutionId,
        ["CurrentJobId"] = t.CurrentJobId,
        ["LastExecutionId"] = t.LastExecutionId,
        ["ScheduleGeneration"] = t.ScheduleGeneration,
        ["ScheduleAnchor"] = t.ScheduleAnchor,
        ["Uuid"] = t.Uuid,
        ["Template"] = t.Template,
        ["Extra"] = t.Extra,
        ["Value"] = t.Value,
        ["Prior"] = t.Prior,
        ["QuotasJson"] = t.Quotas is null ? null : JsonSerializer.Serialize(t.Quotas, Json),
        ["Pool"] = t.Pool,
        ["Adjustable"] = t.Adjustable,
        ["TagsJson"] = t.Tags.Count == 0 ? null : JsonSerializer.Serialize(t.Tags, Json),
        ["MaxRuns"] = t.MaxRuns,
        ["RunsStarted"] = t.RunsStarted,
        ["LastCountedDue"] = t.LastCountedDue,
        ["VariablesJson"] = t.Variables.Count == 0 ? null : JsonSerializer.Serialize(t.Variables, Json),
        ["CreatedBy"] = t.CreatedBy,
    };

    private static TaskRecord FromEntity(TableEntity e) => new()
    {
        TaskId = e.GetInt64("TaskId") ?? long.Parse(e.RowKey, CultureInfo.InvariantCulture),
        Name = e.GetString("Name") ?? "",
        Namespace = e.GetString("Namespace") ?? "default",
        Environment = e.GetString(TableTaskReferences.EnvironmentProperty) ?? "",
        Command = e.GetString("Command") ?? "python main.py",
        Requirements = e.GetString("Requirements"),
        Project = e.GetString("Project"),
        Trigger = e.GetString("TriggerJson") is { } trigger ? JsonSerializer.Deserialize<TaskTrigger>(trigger, Json) ?? new() : new(),
        Retry = e.GetString("RetryJson") is { } retry ? JsonSerializer.Deserialize<RetryPolicySettings>(retry, Json) ?? new() : new(),
        TimeoutSeconds = e.GetInt32("TimeoutSeconds"),
        Priority = e.GetString("Priority") ?? TaskPriorities.Normal,
        Overlap = e.GetString("Overlap") ?? OverlapPolicies.Skip,
        CallbackUrl = e.GetString("CallbackUrl"),
        Status = e.GetString("Status") ?? TaskStatuses.Scheduled,
        CreatedAt = e.GetDateTimeOffset("CreatedAt") ?? default,
        UpdatedAt = e.GetDateTimeOffset("UpdatedAt") ?? default,
        NextRunAt = e.GetDateTimeOffset("NextRunAt"),
        LastRunAt = e.GetDateTimeOffset("LastRunAt"),
        LastRunDuration = e.GetDouble("LastRunDuration"),
        CompletedAt = e.GetDateTimeOffset("CompletedAt"),
        CurrentExecutionId = e.GetString("CurrentExecutionId"),
        CurrentJobId = e.GetString("CurrentJobId"),
        LastExecutionId = e.GetString("LastExecutionId"),
        ScheduleGeneration = e.GetInt32("ScheduleGeneration") ?? 0,
        ScheduleAnchor = e.GetDateTimeOffset("ScheduleAnchor"),
        Uuid = e.GetString("Uuid"),
        Template = e.GetString("Template"),
        Extra = e.GetString("Extra"),
        Value = e.GetString("Value"),
        Prior = e.GetInt32("Prior"),
        Quotas = e.GetString("QuotasJson") is { } quotas ? JsonSerializer.Deserialize<TaskQuotas>(quotas, Json) : null,
        Pool = e.GetString("Pool") ?? PoolNames.Default,
        Adjustable = e.GetBoolean("Adjustable") ?? false,
        Tags = e.GetString("TagsJson") is { } tags ? JsonSerializer.Deserialize<Dictionary<string, string>>(tags, Json) ?? [] : new Dictionary<string, string>(StringComparer.Ordinal),
        MaxRuns = e.GetInt32("MaxRuns"),
        RunsStarted = e.GetInt32("RunsStarted") ?? 0,
        LastCountedDue = e.GetDateTimeOffset("LastCountedDue"),
        Variables = e.GetString("VariablesJson") is { } variables ? JsonSerializer.Deserialize<Dictionary<string, string>>(variables, Json) ?? [] : new Dictionary<string, string>(StringComparer.Ordinal),
        CreatedBy = e.GetString("CreatedBy"),
        ETag = e.ETag.ToString(),
    };

    private static TableEntity ToEntity(ExecutionRecord x) => new(Key(x.TaskId), x.ExecutionId)
    {
        ["TaskId"] = x.TaskId,
        ["RunId"] = x.RunId,
        ["Attempt"] = x.Attempt,
        ["Trigger"] = x.Trigger,
        ["Status"] = x.Status,
        [TableTaskReferences.EnvironmentProperty] = x.Environment,
        ["DueAt"] = x.DueAt,
        ["QueuedAt"] = x.QueuedAt,
        ["StartTime"] = x.StartTime,
        ["EndTime"] = x.EndTime,
        ["ExitCode"] = x.ExitCode,
        ["DurationSeconds"] = x.Duration,
        ["PeakMemoryMb"] = x.PeakMemoryMb,
        ["AvgMemoryMb"] = x.AvgMemoryMb,
        ["CpuSeconds"] = x.CpuSeconds,
        ["Error"] = x.Error is { Length: > 8000 } text ? text[..8000] : x.Error,
        ["JobId"] = x.JobId,
        ["RunnerId"] = x.RunnerId,
        ["LogBlob"] = x.LogBlob,
        ["CallbackStatus"] = x.CallbackStatus,
        ["CallbackAttempts"] = x.CallbackAttempts,
        ["CallbackError"] = x.CallbackError is { Length: > 2000 } callbackError ? callbackError[..2000] : x.CallbackError,
        ["CallbackAt"] = x.CallbackAt,
        ["TagsJson"] = x.Tags.Count == 0 ? null : JsonSerializer.Serialize(x.Tags, Json),
        ["Pool"] = x.Pool,
    };

    private static ExecutionRecord ExecutionFromEntity(TableEntity e) => new()
    {
        TaskId = e.GetInt64("TaskId") ?? long.Parse(e.PartitionKey, CultureInfo.InvariantCulture),
        ExecutionId = e.RowKey,
        RunId = e.GetString("RunId") ?? "",
        Attempt = e.GetInt32("Attempt") ?? 1,
        Trigger = e.GetString("Trigger") ?? ExecutionTriggers.Manual,
        Status = e.GetString("Status") ?? ExecutionStatuses.Queued,
        Environment = e.GetString(TableTaskReferences.EnvironmentProperty) ?? "",
        DueAt = e.GetDateTimeOffset("DueAt") ?? default,
        QueuedAt = e.GetDateTimeOffset("QueuedAt") ?? default,
        StartTime = e.GetDateTimeOffset("StartTime"),
        EndTime = e.GetDateTimeOffset("EndTime"),
        ExitCode = e.GetInt32("ExitCode"),
        Duration = e.GetDouble("DurationSeconds"),
        PeakMemoryMb = e.GetDouble("PeakMemoryMb"),
        AvgMemoryMb = e.GetDouble("AvgMemoryMb"),
        CpuSeconds = e.GetDouble("CpuSeconds"),
        Error = e.GetString("Error"),
        JobId = e.GetString("JobId"),
        RunnerId = e.GetString("RunnerId"),
        LogBlob = e.GetString("LogBlob") ?? ExecutionRecord.LogBlobOf(e.GetInt64("TaskId") ?? 0, e.RowKey),
        CallbackStatus = e.GetString("CallbackStatus"),
        CallbackAttempts = e.GetInt32("CallbackAttempts") ?? 0,
        CallbackError = e.GetString("CallbackError"),
        CallbackAt = e.GetDateTimeOffset("CallbackAt"),
        Tags = e.GetString("TagsJson") is { } tags ? JsonSerializer.Deserialize<List<string>>(tags, Json) ?? [] : [],
        Pool = e.GetString("Pool"),
    };
}
