using System.Globalization;
using Azure.Data.Tables;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Tasks;

/// <summary>A run asking for a concurrency slot.</summary>
/// <param name="ExecutionId">The execution that will hold the slot.</param>
/// <param name="InstanceId">Its orchestration (woken when a slot frees).</param>
/// <param name="TaskId">Its task.</param>
/// <param name="PriorityRank"><see cref="TaskPriorities.Rank"/>: higher goes first.</param>
/// <param name="QueuedAt">When it became due; earlier goes first within a priority.</param>
/// <param name="OnePerTask">Wait while another run of the same task holds a slot (overlap <c>queue</c>/<c>skip</c>).</param>
/// <param name="Limit">The deployment's <c>MAX_CONCURRENT_TASKS</c>.</param>
public sealed record SlotRequest(string ExecutionId, string InstanceId, long TaskId, int PriorityRank, DateTimeOffset QueuedAt, bool OnePerTask, int Limit);

/// <summary>The answer to a <see cref="SlotRequest"/>.</summary>
/// <param name="Granted">The slot is held.</param>
/// <param name="Position">1-based place in the wait line when not granted.</param>
/// <param name="Holders">Slots held after the call.</param>
public sealed record SlotGrant(bool Granted, int Position, int Holders);

/// <summary>
/// The deployment-wide concurrency limit of task runs, in one table partition shared by every host: one row per
/// holder, one per waiter (row keys sort by priority, then due time) and a version row. Every grant and release
/// rewrites the version row under its ETag in the same entity-group transaction as the holder row, so two hosts
/// can never hand out the same last slot. Holders whose execution already ended (an orchestration terminated
/// before it released) are reclaimed when the limit is reached.
/// </summary>
public sealed class TaskSlots(StorageAccount storage, StorageNames names, ITaskRepository tasks, TimeProvider time)
{
    /// <summary>The table's base name.</summary>
    public const string TableName = "TaskSlots";

    private const string Partition = "slots";
    private const string VersionRow = "version";
    private const string HolderPrefix = "h-";
    private const string WaiterPrefix = "w-";

    private readonly TableClient _table = storage.Tables.GetTableClient(names.Table(TableName));
    private readonly Lazy<Task> _created = new(() => storage.Tables.GetTableClient(names.Table(TableName)).CreateIfNotExistsAsync());

    /// <summary>Takes a slot if the limit and the wait line allow, else joins (or stays in) the line.</summary>
    public async Task<SlotGrant> AcquireAsync(SlotRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await _created.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        var waiterKey = WaiterKey(request);
        for (var attempt = 0; ; attempt++)
        {
            var (version, holders, waiters) = await ReadAsync(cancellationToken).ConfigureAwait(false);
            if (holders.Any(h => h.RowKey == HolderPrefix + request.ExecutionId))
            {
                return new SlotGrant(true, 0, holders.Count);
            }

            var reclaim = holders.Count >= request.Limit ? await FinishedHoldersAsync(holders, cancellationToken).ConfigureAwait(false) : [];
            var live = holders.Where(h => !reclaim.Contains(h)).ToList();
            var busyTasks = live.Select(h => h.GetInt64("TaskId")).ToHashSet();

            // The line in order, with this request in its place; runs blocked by their own task's holder step aside.
            var line = waiters.Select(w => (Key: w.RowKey, TaskId: w.GetInt64("TaskId"), OnePerTask: w.GetBoolean("OnePerTask") ?? true)).ToList();
            if (!line.Any(w => w.Key == waiterKey))
            {
                line.Add((waiterKey, request.TaskId, request.OnePerTask));
                line.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            }

            var free = request.Limit - live.Count;
            var eligible = line.Where(w => !(w.OnePerTask && busyTasks.Contains(w.TaskId))).Select(w => w.Key).ToList();
            var place = eligible.IndexOf(waiterKey);
            if (place < 0 || place >= free)
            {
                var position = line.FindIndex(w => w.Key == waiterKey) + 1;
                if (!waiters.Any(w => w.RowKey == waiterKey))
                {
                    await _table.UpsertEntityAsync(
                        new TableEntity(Partition, waiterKey)
                        {
                            ["ExecutionId"] = request.ExecutionId, ["InstanceId"] = request.InstanceId, ["TaskId"] = request.TaskId,
                            ["OnePerTask"] = request.OnePerTask, ["QueuedAt"] = request.QueuedAt,
                        },
                        TableUpdateMode.Replace,
                        cancellationToken).ConfigureAwait(false);
                }

                if (reclaim.Count > 0)
                {
                    // Free the dead holders' slots even though this request must still wait.
                    await TrySubmitAsync(VersionUpdate(version, live.Count), reclaim.Select(Delete), cancellationToken).ConfigureAwait(false);
                }

                return new SlotGrant(false, position, live.Count);
            }

            var actions = new List<TableTransactionAction>
            {
                new(TableTransactionActionType.Add, new TableEntity(Partition, HolderPrefix + request.ExecutionId)
                {
                    ["InstanceId"] = request.InstanceId, ["TaskId"] = request.TaskId, ["Since"] = time.GetUtcNow(),
                }),
            };
            actions.AddRange(reclaim.Select(Delete));
            if (waiters.FirstOrDefault(w => w.RowKey == waiterKey) is { } mine)
            {
                actions.Add(Delete(mine));
            }

            if (await TrySubmitAsync(VersionUpdate(version, live.Count + 1), actions, cancellationToken).ConfigureAwait(false))
            {
                return new SlotGrant(true, 0, live.Count + 1);
            }

            // Another host changed the slots between the read and the write: read again.
            await Task.Delay(Random.Shared.Next(1, 5 + Math.Min(attempt, 20) * 5), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Gives the slot of <paramref name="executionId"/> back (or removes it from the line); returns the
    /// orchestrations of the first waiters, to be woken.
    /// </summary>
    public async Task<IReadOnlyList<string>> ReleaseAsync(string executionId, int wake, CancellationToken cancellationToken = default)
    {
        await _created.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var (version, holders, waiters) = await ReadAsync(cancellationToken).ConfigureAwait(false);
            var mine = holders.FirstOrDefault(h => h.RowKey == HolderPrefix + executionId);
            var waiting = waiters.Where(w => w.GetString("ExecutionId") == executionId).ToList();
            if (mine is null && waiting.Count == 0)
            {
                return WakeList(waiters, wake);
            }

            var actions = waiting.Select(Delete).ToList();
            if (mine is not null)
            {
                actions.Add(Delete(mine));
            }

            var remaining = waiters.Except(waiting).ToList();
            if (await TrySubmitAsync(VersionUpdate(version, holders.Count - (mine is null ? 0 : 1)), actions, cancellationToken).ConfigureAwait(false))
            {
                return WakeList(remaining, wake);
            }

            await Task.Delay(Random.Shared.Next(1, 5 + Math.Min(attempt, 20) * 5), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Holders and waiters now, for the stats and the tests.</summary>
    public async Task<(int Holders, int Waiting)> CountAsync(CancellationToken cancellationToken = default)
    {
        await _created.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        var (_, holders, waiters) = await ReadAsync(cancellationToken).ConfigureAwait(false);
        return (holders.Count, waiters.Count);
    }

    private static List<string> WakeList(IEnumerable<TableEntity> waiters, int wake) =>
        waiters.OrderBy(w => w.RowKey, StringComparer.Ordinal).Take(wake).Select(w => w.GetString("InstanceId")).OfType<string>().ToList();

    private async Task<(TableEntity? Version, List<TableEntity> Holders, List<TableEntity> Waiters)> ReadAsync(CancellationToken cancellationToken)
    {
        TableEntity? version = null;
        var holders = new List<TableEntity>();
        var waiters = new List<TableEntity>();
        await foreach (var row in _table.QueryAsync<TableEntity>($"PartitionKey eq '{Partition}'", cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.RowKey == VersionRow)
            {
                version = row;
            }
            else if (row.RowKey.StartsWith(HolderPrefix, StringComparison.Ordinal))
            {
                holders.Add(row);
            }
            else if (row.RowKey.StartsWith(WaiterPrefix, StringComparison.Ordinal))
            {
                waiters.Add(row);
            }
        }

        waiters.Sort((a, b) => string.CompareOrdinal(a.RowKey, b.RowKey));
        return (version, holders, waiters);
    }

    private async Task<List<TableEntity>> FinishedHoldersAsync(List<TableEntity> holders, CancellationToken cancellationToken)
    {
        var finished = new List<TableEntity>();
        foreach (var holder in holders)
        {
            var since = holder.GetDateTimeOffset("Since") ?? DateTimeOffset.MinValue;
            if (time.GetUtcNow() - since < TimeSpan.FromMinutes(1))
            {
                continue;
            }

            var execution = await tasks.GetExecutionAsync(holder.GetInt64("TaskId") ?? 0, holder.RowKey[HolderPrefix.Length..], cancellationToken).ConfigureAwait(false);
            if (execution is null || ExecutionStatuses.IsFinal(execution.Status))
            {
                finished.Add(holder);
            }
        }

        return finished;
    }

    private static TableTransactionAction VersionUpdate(TableEntity? version, int holders)
    {
        var row = new TableEntity(Partition, VersionRow) { ["Holders"] = holders };
        return version is null
            ? new TableTransactionAction(TableTransactionActionType.Add, row)
            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, row, version.ETag);
    }

    private static TableTransactionAction Delete(TableEntity row) => new(TableTransactionActionType.Delete, row, row.ETag);

    private async Task<bool> TrySubmitAsync(TableTransactionAction version, IEnumerable<TableTransactionAction> actions, CancellationToken cancellationToken)
    {
        try
        {
            await _table.SubmitTransactionAsync([version, .. actions], cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 or 404)
        {
            return false;
        }
    }

    private static string WaiterKey(SlotRequest r) =>
        string.Create(CultureInfo.InvariantCulture, $"{WaiterPrefix}{9 - Math.Clamp(r.PriorityRank, 0, 9)}-{r.QueuedAt.UtcTicks:D19}-{r.ExecutionId}");
}
