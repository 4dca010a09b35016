using System.Globalization;
using Azure.Data.Tables;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Tasks;

/// <summary>A run asking for a concurrency slot of its pool.</summary>
/// <param name="ExecutionId">The execution that will hold the slot.</param>
/// <param name="InstanceId">Its orchestration (woken when a slot frees).</param>
/// <param name="TaskId">Its task.</param>
/// <param name="PriorityRank">The task's effective priority (<see cref="TaskRecord.EffectivePriority"/>, any int): higher goes first.</param>
/// <param name="QueuedAt">When it became due; earlier goes first within a priority.</param>
/// <param name="OnePerTask">Wait while another run of the same task holds a slot (overlap <c>queue</c>/<c>skip</c>).</param>
/// <param name="Limit">The pool's capacity (<c>MAX_CONCURRENT_TASKS</c> for the default pool without a pool file).</param>
public sealed record SlotRequest(string ExecutionId, string InstanceId, long TaskId, int PriorityRank, DateTimeOffset QueuedAt, bool OnePerTask, int Limit)
{
    /// <summary>The runner pool whose slots the run takes.</summary>
    public string Pool { get; init; } = PoolNames.Default;

    /// <summary>The pool's queue whose priority band holds the run's priority.</summary>
    public string Queue { get; init; } = PoolNames.Default;

    /// <summary>The weights of the pool's queues; null or fewer than two queues = plain priority order.</summary>
    public IReadOnlyDictionary<string, int>? Weights { get; init; }
}

/// <summary>The answer to a <see cref="SlotRequest"/>.</summary>
/// <param name="Granted">The slot is held.</param>
/// <param name="Position">1-based place in the wait line when not granted.</param>
/// <param name="Holders">Slots held after the call.</param>
public sealed record SlotGrant(bool Granted, int Position, int Holders);

/// <summary>A run holding a slot of a pool.</summary>
/// <param name="ExecutionId">The execution.</param>
/// <param name="TaskId">Its task.</param>
/// <param name="Queue">The queue it was granted from (null for rows written before queues existed).</param>
/// <param name="Rank">The task's priority when it asked.</param>
/// <param name="Since">When it took the slot.</param>
public sealed record SlotHolder(string ExecutionId, long TaskId, string? Queue, int Rank, DateTimeOffset Since);

/// <summary>A run waiting for a slot of a pool.</summary>
/// <param name="ExecutionId">The execution.</param>
/// <param name="InstanceId">Its orchestration.</param>
/// <param name="TaskId">Its task.</param>
/// <param name="Queue">The queue of its priority (null for rows written before queues existed).</param>
/// <param name="Rank">Its waiting rank now (raised by SLA promotions).</param>
/// <param name="OriginalRank">The task's priority when it joined the line.</param>
/// <param name="QueuedAt">When it became due.</param>
/// <param name="Since">When it joined the line.</param>
/// <param name="SlaFired">The SLA rules already applied to it.</param>
public sealed record SlotWaiter(
    string ExecutionId, string InstanceId, long TaskId, string? Queue, int Rank, int OriginalRank, DateTimeOffset QueuedAt, DateTimeOffset Since, IReadOnlyList<string> SlaFired)
{
    /// <summary>An SLA rule raised its rank.</summary>
    public bool Promoted => Rank != OriginalRank;
}

/// <summary>A pool's slots now: its holders, and its waiters in dispatch order (rank, then due time).</summary>
public sealed record SlotSnapshot(string Pool, IReadOnlyList<SlotHolder> Holders, IReadOnlyList<SlotWaiter> Waiters);

/// <summary>
/// The concurrency limit of task runs per runner pool, one table partition per pool shared by every host
/// (<c>slots</c> for <c>default</c>, <c>slots-{pool}</c> for the others): one row per holder, one per waiter (row
/// keys sort by rank, then due time) and a version row. Every grant, release and promotion rewrites the version
/// row under its ETag in the same entity-group transaction as the rows it changes, so two hosts can never hand
/// out the same last slot. Waiters go in rank order, then due time; when queues of the pool with different
/// weights compete, a queue that holds its share lets an under-share queue's waiter go first. Holders whose
/// execution already ended (an orchestration terminated before it released) are reclaimed when the limit is reached.
/// </summary>
public sealed class TaskSlots(StorageAccount storage, StorageNames names, ITaskRepository tasks, TimeProvider time)
{
    /// <summary>The table's base name.</summary>
    public const string TableName = "TaskSlots";

    private const string DefaultPartition = "slots";
    private const string VersionRow = "version";
    private const string HolderPrefix = "h-";
    private const string WaiterPrefix = "w-";

    private readonly TableClient _table = storage.Tables.GetTableClient(names.Table(TableName));
    private readonly Lazy<Task> _created = new(() => storage.Tables.GetTableClient(names.Table(TableName)).CreateIfNotExistsAsync());

    /// <summary>The partition of <paramref name="pool"/>'s slots.</summary>
    public static string PartitionOf(string? pool) =>
        string.IsNullOrEmpty(pool) || pool == PoolNames.Default ? DefaultPartition : DefaultPartition + "-" + pool;

    /// <summary>Takes a slot if the limit and the wait line allow, else joins (or stays in) the line.</summary>
    public async Task<SlotGrant> AcquireAsync(SlotRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await _created.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        var partition = PartitionOf(request.Pool);
        for (var attempt = 0; ; attempt++)
        {
            var (version, holders, waiters) = await ReadAsync(partition, cancellationToken).ConfigureAwait(false);
            if (holders.Any(h => h.Row.RowKey == HolderPrefix + request.ExecutionId))
            {
                return new SlotGrant(true, 0, holders.Count);
            }

            var reclaim = holders.Count >= request.Limit ? await FinishedHoldersAsync(holders, cancellationToken).ConfigureAwait(false) : [];
            var live = holders.Where(h => !reclaim.Contains(h)).ToList();
            var busyTasks = live.Select(h => h.Value.TaskId).ToHashSet();

            // The line in order, with this request in its place (a promoted row keeps its own key); runs blocked by
            // their own task's holder step aside.
            var mine = waiters.FirstOrDefault(w => w.Value.ExecutionId == request.ExecutionId);
            var me = mine?.Value ?? new SlotWaiter(
                request.ExecutionId, request.InstanceId, request.TaskId, request.Queue, request.PriorityRank, request.PriorityRank, request.QueuedAt, time.GetUtcNow(), []);
            var line = waiters.Select(w => (w.Value, w.OnePerTask)).ToList();
            if (mine is null)
            {
                line.Add((me, request.OnePerTask));
                line.Sort((a, b) => Compare(a.Value, b.Value));
            }

            var free = request.Limit - live.Count;
            var eligible = line.Where(w => !(w.OnePerTask && busyTasks.Contains(w.Value.TaskId))).Select(w => w.Value).ToList();
            var picked = Pick(eligible, line.Select(w => w.Value.Queue), live.Select(h => h.Value.Queue).ToList(), free, request.Limit, request.Weights);
            if (!picked.Any(w => w.ExecutionId == request.ExecutionId))
            {
                var position = line.FindIndex(w => w.Value.ExecutionId == request.ExecutionId) + 1;
                if (mine is null)
                {
                    await _table.UpsertEntityAsync(WaiterRow(partition, me, request.OnePerTask), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                }

                if (reclaim.Count > 0)
                {
                    // Free the dead holders' slots even though this request must still wait.
                    await TrySubmitAsync(VersionUpdate(partition, version, live.Count), reclaim.Select(h => Delete(h.Row)), cancellationToken).ConfigureAwait(false);
                }

                return new SlotGrant(false, position, live.Count);
            }

            var actions = new List<TableTransactionAction>
            {
                new(TableTransactionActionType.Add, new TableEntity(partition, HolderPrefix + request.ExecutionId)
                {
                    ["InstanceId"] = request.InstanceId, ["TaskId"] = request.TaskId, ["Since"] = time.GetUtcNow(), ["Queue"] = me.Queue, ["Rank"] = me.OriginalRank,
                }),
            };
            actions.AddRange(reclaim.Select(h => Delete(h.Row)));
            if (mine is not null)
            {
                actions.Add(Delete(mine.Row));
            }

            if (await TrySubmitAsync(VersionUpdate(partition, version, live.Count + 1), actions, cancellationToken).ConfigureAwait(false))
            {
                return new SlotGrant(true, 0, live.Count + 1);
            }

            // Another host changed the slots between the read and the write: read again.
            await Backoff(attempt, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Gives the slot of <paramref name="executionId"/> in <paramref name="pool"/> back (or removes it from the line);
    /// returns the orchestrations of the pool's waiters to wake: the first <paramref name="wake"/> in line and the
    /// first of every other queue (which its weight may let go first).
    /// </summary>
    public async Task<IReadOnlyList<string>> ReleaseAsync(string executionId, int wake, string? pool = PoolNames.Default, CancellationToken cancellationToken = default)
    {
        await _created.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        var partition = PartitionOf(pool);
        for (var attempt = 0; ; attempt++)
        {
            var (version, holders, waiters) = await ReadAsync(partition, cancellationToken).ConfigureAwait(false);
            var mine = holders.FirstOrDefault(h => h.Row.RowKey == HolderPrefix + executionId);
            var waiting = waiters.Where(w => w.Value.ExecutionId == executionId).ToList();
            if (mine is null && waiting.Count == 0)
            {
                return WakeList(waiters, wake);
            }

            var actions = waiting.Select(w => Delete(w.Row)).ToList();
            if (mine is not null)
            {
                actions.Add(Delete(mine.Row));
            }

            var remaining = waiters.Except(waiting).ToList();
            if (await TrySubmitAsync(VersionUpdate(partition, version, holders.Count - (mine is null ? 0 : 1)), actions, cancellationToken).ConfigureAwait(false))
            {
                return WakeList(remaining, wake);
            }

            await Backoff(attempt, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Holders and waiters of <paramref name="pool"/> now, for the stats and the tests.</summary>
    public async Task<(int Holders, int Waiting)> CountAsync(string? pool = PoolNames.Default, CancellationToken cancellationToken = default)
    {
        var snapshot = await SnapshotAsync(pool, cancellationToken).ConfigureAwait(false);
        return (snapshot.Holders.Count, snapshot.Waiters.Count);
    }

    /// <summary>The holders and the waiters (in dispatch order) of <paramref name="pool"/> now.</summary>
    public async Task<SlotSnapshot> SnapshotAsync(string? pool, CancellationToken cancellationToken = default)
    {
        await _created.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        var (_, holders, waiters) = await ReadAsync(PartitionOf(pool), cancellationToken).ConfigureAwait(false);
        return new SlotSnapshot(pool ?? PoolNames.Default, holders.Select(h => h.Value).ToList(), waiters.Select(w => w.Value).ToList());
    }

    /// <summary>
    /// An SLA promotion: raises the waiting rank of <paramref name="executionId"/> by <paramref name="by"/> and records
    /// <paramref name="rule"/> on its row (the row is rewritten under its new key in the version row's transaction, the
    /// original rank kept). Returns the new rank, or null when the run no longer waits or the rule already fired.
    /// </summary>
    public Task<int?> PromoteAsync(string? pool, string executionId, string rule, int by, CancellationToken cancellationToken = default) =>
        FireAsync(pool, executionId, rule, by, cancellationToken);

    /// <summary>Records that <paramref name="rule"/> fired for the waiting <paramref name="executionId"/>; false when it no longer waits or the rule already fired.</summary>
    public async Task<bool> MarkFiredAsync(string? pool, string executionId, string rule, CancellationToken cancellationToken = default) =>
        await FireAsync(pool, executionId, rule, 0, cancellationToken).ConfigureAwait(false) is not null;

    private async Task<int?> FireAsync(string? pool, string executionId, string rule, int by, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        await _created.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        var partition = PartitionOf(pool);
        for (var attempt = 0; ; attempt++)
        {
            var (version, holders, waiters) = await ReadAsync(partition, cancellationToken).ConfigureAwait(false);
            var mine = waiters.FirstOrDefault(w => w.Value.ExecutionId == executionId);
            if (mine is null || mine.Value.SlaFired.Contains(rule, StringComparer.Ordinal))
            {
                return null;
            }

            var changed = mine.Value with
            {
                Rank = (int)Math.Clamp((long)mine.Value.Rank + by, int.MinValue, int.MaxValue),
                SlaFired = [.. mine.Value.SlaFired, rule],
            };
            var row = WaiterRow(partition, changed, mine.OnePerTask);
            List<TableTransactionAction> actions = row.RowKey == mine.Row.RowKey
                ? [new(TableTransactionActionType.UpdateReplace, row, mine.Row.ETag)]
                : [Delete(mine.Row), new(TableTransactionActionType.Add, row)];
            if (await TrySubmitAsync(VersionUpdate(partition, version, holders.Count), actions, cancellationToken).ConfigureAwait(false))
            {
                return changed.Rank;
            }

            await Backoff(attempt, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Who of <paramref name="eligible"/> (in line order) takes the <paramref name="free"/> slots: in order, except that
    /// while queues of different weights have demand, a queue holding its share <c>ceil(capacity * weight / sum of the
    /// weights of queues with demand)</c> lets the first waiter of an under-share queue go first.
    /// </summary>
    private static List<SlotWaiter> Pick(
        List<SlotWaiter> eligible, IEnumerable<string?> waitingQueues, List<string?> heldQueues, int free, int capacity, IReadOnlyDictionary<string, int>? weights)
    {
        if (free <= 0)
        {
            return [];
        }

        if (weights is null || weights.Count < 2)
        {
            return eligible.Take(free).ToList();
        }

        int Weight(string? queue) => queue is not null && weights.TryGetValue(queue, out var w) ? Math.Max(0, w) : 1;

        var held = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var queue in heldQueues)
        {
            held[queue ?? ""] = held.GetValueOrDefault(queue ?? "") + 1;
        }

        var demand = heldQueues.Concat(waitingQueues).Select(q => q ?? "").Distinct(StringComparer.Ordinal).ToList();
        var sum = demand.Sum(q => Weight(q.Length == 0 ? null : q));
        bool UnderShare(string? queue) =>
            sum == 0 || held.GetValueOrDefault(queue ?? "") < (int)Math.Ceiling((double)capacity * Weight(queue) / sum);

        var remaining = eligible.ToList();
        var picked = new List<SlotWaiter>();
        while (picked.Count < free && remaining.Count > 0)
        {
            var next = remaining.FirstOrDefault(w => UnderShare(w.Queue)) ?? remaining[0];
            picked.Add(next);
            remaining.Remove(next);
            held[next.Queue ?? ""] = held.GetValueOrDefault(next.Queue ?? "") + 1;
        }

        return picked;
    }

    private static List<string> WakeList(List<Slot<SlotWaiter>> waiters, int wake)
    {
        if (wake <= 0)
        {
            return [];
        }

        var first = waiters.Take(wake).ToList();
        var queues = first.Select(w => w.Value.Queue).ToHashSet();
        foreach (var waiter in waiters.Skip(wake))
        {
            if (queues.Add(waiter.Value.Queue))
            {
                first.Add(waiter);
            }
        }

        return first.Select(w => w.Value.InstanceId).Where(i => i.Length > 0).ToList();
    }

    private static int Compare(SlotWaiter a, SlotWaiter b)
    {
        var byRank = b.Rank.CompareTo(a.Rank);
        if (byRank != 0)
        {
            return byRank;
        }

        var byDue = a.QueuedAt.UtcTicks.CompareTo(b.QueuedAt.UtcTicks);
        return byDue != 0 ? byDue : string.CompareOrdinal(a.ExecutionId, b.ExecutionId);
    }

    private sealed record Slot<T>(TableEntity Row, T Value, bool OnePerTask = true);

    private async Task<(TableEntity? Version, List<Slot<SlotHolder>> Holders, List<Slot<SlotWaiter>> Waiters)> ReadAsync(string partition, CancellationToken cancellationToken)
    {
        TableEntity? version = null;
        var holders = new List<Slot<SlotHolder>>();
        var waiters = new List<Slot<SlotWaiter>>();
        await foreach (var row in _table.QueryAsync<TableEntity>($"PartitionKey eq '{partition}'", cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.RowKey == VersionRow)
            {
                version = row;
            }
            else if (row.RowKey.StartsWith(HolderPrefix, StringComparison.Ordinal))
            {
                holders.Add(new Slot<SlotHolder>(row, new SlotHolder(
                    row.RowKey[HolderPrefix.Length..], row.GetInt64("TaskId") ?? 0, row.GetString("Queue"), row.GetInt32("Rank") ?? 1, row.GetDateTimeOffset("Since") ?? DateTimeOffset.MinValue)));
            }
            else if (row.RowKey.StartsWith(WaiterPrefix, StringComparison.Ordinal))
            {
                waiters.Add(new Slot<SlotWaiter>(row, WaiterOf(row), row.GetBoolean("OnePerTask") ?? true));
            }
        }

        waiters.Sort((a, b) => Compare(a.Value, b.Value));
        return (version, holders, waiters);
    }

    private static SlotWaiter WaiterOf(TableEntity row)
    {
        // Rows written before ranks were stored carry a 0..9 rank as "w-{9 - rank}-…".
        var legacy = row.RowKey.Length > 3 && row.RowKey[3] == '-' && char.IsAsciiDigit(row.RowKey[2]) ? 9 - (row.RowKey[2] - '0') : 1;
        var rank = row.GetInt32("Rank") ?? legacy;
        var queuedAt = row.GetDateTimeOffset("QueuedAt") ?? DateTimeOffset.MinValue;
        var fired = row.GetString("SlaFired") is { Length: > 0 } list ? list.Split(',') : [];
        return new SlotWaiter(
            row.GetString("ExecutionId") ?? "", row.GetString("InstanceId") ?? "", row.GetInt64("TaskId") ?? 0, row.GetString("Queue"),
            rank, row.GetInt32("OriginalRank") ?? rank, queuedAt, row.GetDateTimeOffset("Since") ?? queuedAt, fired);
    }

    private static TableEntity WaiterRow(string partition, SlotWaiter w, bool onePerTask) => new(partition, WaiterKey(w))
    {
        ["ExecutionId"] = w.ExecutionId, ["InstanceId"] = w.InstanceId, ["TaskId"] = w.TaskId, ["OnePerTask"] = onePerTask, ["QueuedAt"] = w.QueuedAt,
        ["Since"] = w.Since, ["Queue"] = w.Queue, ["Rank"] = w.Rank, ["OriginalRank"] = w.OriginalRank, ["SlaFired"] = string.Join(',', w.SlaFired),
    };

    private async Task<List<Slot<SlotHolder>>> FinishedHoldersAsync(List<Slot<SlotHolder>> holders, CancellationToken cancellationToken)
    {
        var finished = new List<Slot<SlotHolder>>();
        foreach (var holder in holders)
        {
            if (time.GetUtcNow() - holder.Value.Since < TimeSpan.FromMinutes(1))
            {
                continue;
            }

            var execution = await tasks.GetExecutionAsync(holder.Value.TaskId, holder.Value.ExecutionId, cancellationToken).ConfigureAwait(false);
            if (execution is null || ExecutionStatuses.IsFinal(execution.Status))
            {
                finished.Add(holder);
            }
        }

        return finished;
    }

    private static TableTransactionAction VersionUpdate(string partition, TableEntity? version, int holders)
    {
        var row = new TableEntity(partition, VersionRow) { ["Holders"] = holders };
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

    private static Task Backoff(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(Random.Shared.Next(1, 5 + Math.Min(attempt, 20) * 5), cancellationToken);

    /// <summary>Sorts by rank (higher first: <c>int.MaxValue - rank</c> as ten digits, right for any int), then due time.</summary>
    private static string WaiterKey(SlotWaiter w) =>
        string.Create(CultureInfo.InvariantCulture, $"{WaiterPrefix}{(long)int.MaxValue - w.Rank:D10}-{w.QueuedAt.UtcTicks:D19}-{w.ExecutionId}");
}
