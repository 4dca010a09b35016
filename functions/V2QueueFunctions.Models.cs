using EnvFabric.Core.Configuration;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Tasks;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions;

/// <summary>A queue's figures in <c>GET /v2/queues</c>: runs holding a slot plus waiting (<c>size</c>) and waiting.</summary>
public sealed record V2QueueView(string Name, string Pool, int Size, int Waiting, int Running, int Weight, int MinPriority, int MaxPriority);

/// <summary>A waiting run in <c>GET /v2/queues/{name}?verbose=true</c>, in dispatch order; run and task fields are null for a run another namespace owns.</summary>
/// <param name="Position">1-based place among the queue's waiting runs.</param>
/// <param name="RunId">The execution id.</param>
/// <param name="TaskId">The task's id.</param>
/// <param name="Uuid">The task's seed 002 uuid, else its id.</param>
/// <param name="Name">The task's name.</param>
/// <param name="Priority">The task's priority when the run joined the line.</param>
/// <param name="EffectivePriority">The rank it waits with now (raised by SLA promotions).</param>
/// <param name="QueuedAt">When it became due.</param>
/// <param name="WaitedSeconds">How long it has waited for a slot.</param>
/// <param name="Promoted">An SLA rule raised its rank.</param>
public sealed record V2WaitingRun(
    int Position, string? RunId, long? TaskId, string? Uuid, string? Name, int Priority, int EffectivePriority, DateTimeOffset QueuedAt, double WaitedSeconds, bool Promoted);

/// <summary>A run holding a slot, in a verbose queue view.</summary>
public sealed record V2RunningRun(string? RunId, long? TaskId, string? Uuid, string? Name, int Priority, DateTimeOffset Since);

/// <summary>The data of <c>GET /v2/queues/{name}</c>: the figures and, verbose, the waiting runs in dispatch order and the running ones.</summary>
public sealed record V2QueueDetail(
    string Name, string Pool, int Size, int Waiting, int Running, int Weight, int MinPriority, int MaxPriority,
    IReadOnlyList<V2WaitingRun>? WaitingRuns, IReadOnlyList<V2RunningRun>? RunningRuns);

/// <summary>A pool's figures in <c>GET /v2/pools</c>: <c>usage</c> is holders / capacity (0 to 1, 3 decimals), <c>tasks</c> the runs holding a slot.</summary>
public sealed record V2PoolView(string Name, double Usage, int Tasks, int Capacity, int Waiting, int Gpus, string? Description);

/// <summary>A runner of a pool in <c>GET /v2/pools/{name}?verbose=true</c>.</summary>
public sealed record V2PoolRunner(
    string RunnerId, string? Host, bool Alive, int Slots, int ActiveJobs, int? Cores, int Gpus, double? MemoryTotalMb, double? MemoryUsedMb, double? CpuPercent, IReadOnlyList<double>? LoadAverage);

/// <summary>The data of <c>GET /v2/pools/{name}</c>: the figures and, verbose, the pool's runners and queues.</summary>
public sealed record V2PoolDetail(
    string Name, double Usage, int Tasks, int Capacity, int Waiting, int Gpus, string? Description, IReadOnlyList<V2PoolRunner>? Runners, IReadOnlyList<V2QueueView>? Queues);

/// <summary>The services of the queue and pool views.</summary>
public sealed class V2QueueServices
{
    public required HttpContext QueueRequest { get; init; }

    [FromServices]
    public required TaskSlots QueueSlots { get; init; }

    [FromServices]
    public required ITaskRepository QueueTasks { get; init; }

    [FromServices]
    public required IRunnerRegistry QueueRunners { get; init; }

    [FromServices]
    public required IOptions<EnvFabricOptions> QueueDeployment { get; init; }

    [FromServices]
    public required TimeProvider QueueClock { get; init; }
}
