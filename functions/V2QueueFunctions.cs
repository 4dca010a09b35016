using EnvFabric.Core.Pools;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Tasks;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;

namespace EnvFabric.Functions;

/// <summary>
/// Seed 002's queue and pool views: <c>/v2/queues</c> (each configured queue's size and waiting runs) and
/// <c>/v2/pools</c> (each pool's used share of its slots, running and waiting runs, and its runners). The views
/// are deployment-wide: every key sees the figures; run and task fields show only for runs of the key's own
/// namespace (an admin key sees all).
/// </summary>
public static class V2QueueFunctions
{
    public static IEndpointRouteBuilder MapV2QueueFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var queues = routes.MapGroup("/v2/queues").WithTags("v2 queues");
        queues.MapGet("", ListQueues).WithSummary("Every configured queue: size (running plus waiting) and waiting");
        queues.MapGet("/{name}", GetQueue).WithSummary("A queue's figures; with verbose=true its waiting runs in dispatch order and its running ones");
        var pools = routes.MapGroup("/v2/pools").WithTags("v2 pools");
        pools.MapGet("", ListPools).WithSummary("Every pool: usage (held share of its slots), running tasks, capacity, waiting");
        pools.MapGet("/{name}", GetPool).WithSummary("A pool's figures; with verbose=true its runners and its queues");
        return routes;
    }

    public static async Task<IResult> ListQueues([AsParameters] V2QueueServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var configuration = Configuration(s);
        var views = new List<V2QueueView>();
        foreach (var pool in configuration.Pools)
        {
            var snapshot = await s.QueueSlots.SnapshotAsync(pool.Name, s.QueueRequest.RequestAborted);
            views.AddRange(QueuesOf(configuration, pool.Name, snapshot));
        }

        return V2Results.Ok(views);
    }

    public static async Task<IResult> GetQueue(string name, string? verbose, [AsParameters] V2QueueServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (Verbose(verbose) is not { } detailed)
        {
            return V2Results.Invalid($"verbose must be true or false (was '{verbose}')");
        }

        var configuration = Configuration(s);
        if (configuration.Queues.FirstOrDefault(q => q.Name == name) is not { } queue)
        {
            return ErrorBodies.V2(StatusCodes.Status404NotFound, V2Codes.QueueNotFound, $"queue '{name}' not found");
        }

        var snapshot = await s.QueueSlots.SnapshotAsync(queue.Pool, s.QueueRequest.RequestAborted);
        var figures = QueuesOf(configuration, queue.Pool, snapshot).First(q => q.Name == name);
        if (!detailed)
        {
            return V2Results.Ok(Detail(figures, null, null));
        }

        var waiting = snapshot.Waiters.Where(w => QueueOfWaiter(configuration, queue.Pool, w) == name).ToList();
        var running = snapshot.Holders.Where(h => QueueOfHolder(configuration, queue.Pool, h) == name).ToList();
        var owners = await OwnersAsync(s, waiting.Select(w => w.TaskId).Concat(running.Select(h => h.TaskId)));
        var now = s.QueueClock.GetUtcNow();
        var waitingRuns = waiting.Select((w, i) =>
        {
            var task = Visible(s, owners, w.TaskId);
            return new V2WaitingRun(
                i + 1, task is null ? null : w.ExecutionId, task?.TaskId, UuidOf(task), task?.Name,
                w.OriginalRank, w.Rank, w.QueuedAt, Math.Round(Math.Max(0, (now - w.Since).TotalSeconds), 3), w.Promoted);
        }).ToList();
        var runningRuns = running.OrderBy(h => h.Since).Select(h =>
        {
            var task = Visible(s, owners, h.TaskId);
            return new V2RunningRun(task is null ? null : h.ExecutionId, task?.TaskId, UuidOf(task), task?.Name, h.Rank, h.Since);
        }).ToList();
        return V2Results.Ok(Detail(figures, waitingRuns, runningRuns));
    }

    public static async Task<IResult> ListPools([AsParameters] V2QueueServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var configuration = Configuration(s);
        var views = new List<V2PoolView>();
        foreach (var pool in configuration.Pools)
        {
            views.Add(PoolView(pool, await s.QueueSlots.SnapshotAsync(pool.Name, s.QueueRequest.RequestAborted)));
        }

        return V2Results.Ok(views);
    }

    public static async Task<IResult> GetPool(string name, string? verbose, [AsParameters] V2QueueServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (Verbose(verbose) is not { } detailed)
        {
            return V2Results.Invalid($"verbose must be true or false (was '{verbose}')");
        }

        var configuration = Configuration(s);
        if (configuration.Pool(name) is not { } pool)
        {
            return ErrorBodies.V2(StatusCodes.Status404NotFound, V2Codes.QueueNotFound, $"pool '{name}' not found");
        }

        var snapshot = await s.QueueSlots.SnapshotAsync(pool.Name, s.QueueRequest.RequestAborted);
        var view = PoolView(pool, snapshot);
        if (!detailed)
        {
            return V2Results.Ok(new V2PoolDetail(view.Name, view.Usage, view.Tasks, view.Capacity, view.Waiting, view.Gpus, view.Description, null, null));
        }

        var now = s.QueueClock.GetUtcNow();
        var runners = (await s.QueueRunners.GetRunnersAsync(s.QueueRequest.RequestAborted))
            .Where(r => (string.IsNullOrEmpty(r.Pool) ? PoolNames.Default : r.Pool) == pool.Name)
            .OrderBy(r => r.RunnerId, StringComparer.Ordinal)
            .Select(r => new V2PoolRunner(
                r.RunnerId, r.Host, r.IsAlive(now, RunnerDefaults.StaleAfter), r.MaxConcurrent, r.ActiveJobs, r.Cores, r.Gpus, r.MemoryTotalMb, r.MemoryUsedMb, r.CpuPercent, r.LoadAverage))
            .ToList();
        return V2Results.Ok(new V2PoolDetail(
            view.Name, view.Usage, view.Tasks, view.Capacity, view.Waiting, view.Gpus, view.Description, runners, QueuesOf(configuration, pool.Name, snapshot)));
    }

    private static PoolConfiguration Configuration(V2QueueServices s) =>
        PoolSlots.Current(s.QueueRequest.RequestServices, s.QueueDeployment.Value.MaxConcurrentTasks);

    /// <summary>null/empty/false/0 = false, true/1 = true, anything else refused.</summary>
    private static bool? Verbose(string? value) => value?.ToLowerInvariant() switch
    {
        null or "" or "false" or "0" => false,
        "true" or "1" => true,
        _ => null,
    };

    private static V2PoolView PoolView(PoolDefinition pool, SlotSnapshot snapshot)
    {
        var usage = pool.Capacity <= 0 ? 0 : Math.Round(Math.Min(1, (double)snapshot.Holders.Count / pool.Capacity), 3);
        return new V2PoolView(pool.Name, usage, snapshot.Holders.Count, pool.Capacity, snapshot.Waiters.Count, pool.Gpus, pool.Description);
    }

    private static List<V2QueueView> QueuesOf(PoolConfiguration configuration, string pool, SlotSnapshot snapshot) =>
        configuration.Queues.Where(q => q.Pool == pool).Select(q =>
        {
            var waiting = snapshot.Waiters.Count(w => QueueOfWaiter(configuration, pool, w) == q.Name);
            var running = snapshot.Holders.Count(h => QueueOfHolder(configuration, pool, h) == q.Name);
            return new V2QueueView(q.Name, q.Pool, running + waiting, waiting, running, q.Weight, q.MinPriority, q.MaxPriority);
        }).ToList();

    private static V2QueueDetail Detail(V2QueueView q, IReadOnlyList<V2WaitingRun>? waiting, IReadOnlyList<V2RunningRun>? running) =>
        new(q.Name, q.Pool, q.Size, q.Waiting, q.Running, q.Weight, q.MinPriority, q.MaxPriority, waiting, running);

    /// <summary>The run's recorded queue while the configuration still has it in the pool, else the queue its priority falls in now.</summary>
    private static string QueueOfWaiter(PoolConfiguration configuration, string pool, SlotWaiter w) =>
        Known(configuration, pool, w.Queue) ?? PoolSlots.QueueOf(configuration, pool, w.OriginalRank);

    private static string QueueOfHolder(PoolConfiguration configuration, string pool, SlotHolder h) =>
        Known(configuration, pool, h.Queue) ?? PoolSlots.QueueOf(configuration, pool, h.Rank);

    private static string? Known(PoolConfiguration configuration, string pool, string? queue) =>
        queue is not null && configuration.Queues.Any(q => q.Pool == pool && q.Name == queue) ? queue : null;

    private static async Task<Dictionary<long, TaskRecord?>> OwnersAsync(V2QueueServices s, IEnumerable<long> taskIds)
    {
        var owners = new Dictionary<long, TaskRecord?>();
        foreach (var id in taskIds.Distinct())
        {
            owners[id] = await s.QueueTasks.GetAsync(id, s.QueueRequest.RequestAborted);
        }

        return owners;
    }

    /// <summary>The run's task when the caller may see it (its namespace, or an admin key), else null.</summary>
    private static TaskRecord? Visible(V2QueueServices s, Dictionary<long, TaskRecord?> owners, long taskId) =>
        owners.GetValueOrDefault(taskId) is { } task && NamespaceAccess.CanAct(s.QueueRequest.User, task.Namespace) ? task : null;

    private static string? UuidOf(TaskRecord? task) =>
        task is null ? null : task.Uuid ?? task.TaskId.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
