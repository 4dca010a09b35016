using EnvFabric.Core.Runner;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Core.Pools;

/// <summary>Whether a pool can ever run a task of a given quota (seed 002's 1005, insufficient resources).</summary>
public interface IQuotaAdmission
{
    /// <summary>Why <paramref name="pool"/> cannot run a task of <paramref name="quotas"/>, or null when it can.</summary>
    string? Refuse(string pool, TaskQuotas quotas, PoolConfiguration config, IReadOnlyList<RunnerInfo> runners);
}

/// <summary>
/// The submit-time check of a quota against its pool: a GPU quota needs a pool that offers that many GPUs; a CPU
/// or memory quota larger than every live runner of the pool that reports its cores or memory is refused. A pool
/// whose live runners report nothing (or that has none alive yet) is not judged on CPU and memory: the run waits.
/// </summary>
public sealed class QuotaAdmission(TimeProvider time, TimeSpan? staleAfter = null) : IQuotaAdmission
{
    private readonly TimeSpan _staleAfter = staleAfter ?? RunnerDefaults.StaleAfter;

    /// <inheritdoc />
    public string? Refuse(string pool, TaskQuotas quotas, PoolConfiguration config, IReadOnlyList<RunnerInfo> runners)
    {
        ArgumentNullException.ThrowIfNull(quotas);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(runners);
        if (config.Pool(pool) is not { } definition)
        {
            return $"pool '{pool}' is not configured";
        }

        if (quotas.Gpu is > 0 and var gpu)
        {
            if (definition.Gpus == 0)
            {
                return $"pool '{pool}' offers no GPU, the quota asks for {gpu}";
            }

            if (gpu > definition.Gpus)
            {
                return $"pool '{pool}' offers {definition.Gpus} GPU(s), the quota asks for {gpu}";
            }
        }

        var now = time.GetUtcNow();
        var alive = runners.Where(r => r.Pool == pool && r.IsAlive(now, _staleAfter)).ToList();
        if (quotas.Cpu is { } cpu && alive.Where(r => r.Cores is not null).Select(r => (double)r.Cores!.Value).ToList() is { Count: > 0 } cores && cores.Max() < cpu)
        {
            return $"the quota asks for {cpu} CPU core(s), the largest live runner of pool '{pool}' has {cores.Max()}";
        }

        if (quotas.MemoryMb is { } mb && alive.Where(r => r.MemoryTotalMb is not null).Select(r => r.MemoryTotalMb!.Value).ToList() is { Count: > 0 } memory && memory.Max() < mb)
        {
            return $"the quota asks for {mb} MiB of memory, the largest live runner of pool '{pool}' has {Math.Floor(memory.Max())} MiB";
        }

        return null;
    }
}
