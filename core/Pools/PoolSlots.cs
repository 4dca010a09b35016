using EnvFabric.Core.Tasks;

namespace EnvFabric.Core.Pools;

/// <summary>How a run's slot request follows the pool configuration in force: its pool's capacity, its queue and the queues' weights.</summary>
public static class PoolSlots
{
    /// <summary>
    /// The configuration in force: the registered <see cref="IPoolConfiguration"/>'s, else the built-in one pool
    /// <c>default</c> of <paramref name="fallbackCapacity"/> slots (MAX_CONCURRENT_TASKS).
    /// </summary>
    public static PoolConfiguration Current(IServiceProvider services, int fallbackCapacity)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.GetService(typeof(IPoolConfiguration)) is IPoolConfiguration pools ? pools.Current : PoolConfiguration.Default(fallbackCapacity);
    }

    /// <summary>
    /// The slots <paramref name="pool"/> holds: its configured capacity; the default pool missing from the
    /// configuration holds <paramref name="fallbackCapacity"/>, any other unknown pool none (its runs wait).
    /// </summary>
    public static int Capacity(PoolConfiguration configuration, string pool, int fallbackCapacity)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.Pool(pool)?.Capacity ?? (pool == PoolNames.Default ? fallbackCapacity : 0);
    }

    /// <summary>The queue of <paramref name="pool"/> a run of <paramref name="priority"/> waits in: the first whose band holds it, else one named like the pool.</summary>
    public static string QueueOf(PoolConfiguration configuration, string pool, int priority)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.QueueFor(pool, priority)?.Name ?? pool;
    }

    /// <summary>The request for a slot of <paramref name="pool"/>, with its capacity, queue and the weights of its queues.</summary>
    public static SlotRequest Request(
        PoolConfiguration configuration, string? pool, string executionId, string instanceId, long taskId, int priority, DateTimeOffset queuedAt, bool onePerTask, int fallbackCapacity)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var name = string.IsNullOrEmpty(pool) ? PoolNames.Default : pool;
        var weights = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var queue in configuration.Queues.Where(q => q.Pool == name))
        {
            weights.TryAdd(queue.Name, queue.Weight);
        }

        return new SlotRequest(executionId, instanceId, taskId, priority, queuedAt, onePerTask, Capacity(configuration, name, fallbackCapacity))
        {
            Pool = name,
            Queue = QueueOf(configuration, name, priority),
            Weights = weights,
        };
    }
}
