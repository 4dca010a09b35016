using System.Text.Json.Serialization;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Core.Pools;

/// <summary>A runner pool: its name, how many runs it holds at once, and what it offers.</summary>
public sealed record PoolDefinition
{
    /// <summary>The pool's name (<see cref="PoolNames.IsValid"/>); runners join it with <c>RUNNER_POOL</c>.</summary>
    public required string Name { get; init; }

    /// <summary>Runs the pool holds at once (its slots across every runner); waiting runs queue.</summary>
    public int Capacity { get; init; } = 50;

    /// <summary>GPUs a run may ask for in this pool (0 = none: a <c>gpu</c> quota is 1005).</summary>
    public int Gpus { get; init; }

    /// <summary>Free text shown by <c>/v2/pools</c>.</summary>
    public string? Description { get; init; }
}

/// <summary>A queue of a pool: the runs whose priority falls in its band, and its share of the pool when queues compete.</summary>
public sealed record QueueDefinition
{
    /// <summary>Unique across the configuration.</summary>
    public required string Name { get; init; }

    /// <summary>The pool it feeds.</summary>
    public required string Pool { get; init; }

    /// <summary>The lowest priority (inclusive) of the band.</summary>
    [JsonPropertyName("min_priority")]
    public int MinPriority { get; init; } = int.MinValue;

    /// <summary>The highest priority (inclusive) of the band.</summary>
    [JsonPropertyName("max_priority")]
    public int MaxPriority { get; init; } = int.MaxValue;

    /// <summary>Its share of the pool's capacity while other queues of the pool have runs waiting (weights of a pool's queues are relative).</summary>
    public int Weight { get; init; } = 1;
}

/// <summary>An SLA rule: the longest a queued run of a priority band may wait before it is promoted or an alert is raised.</summary>
public sealed record SlaRule
{
    /// <summary>Unique across the configuration.</summary>
    public required string Name { get; init; }

    /// <summary>The pool it watches; null = every pool.</summary>
    public string? Pool { get; init; }

    [JsonPropertyName("min_priority")]
    public int MinPriority { get; init; } = int.MinValue;

    [JsonPropertyName("max_priority")]
    public int MaxPriority { get; init; } = int.MaxValue;

    /// <summary>The longest wait, in seconds.</summary>
    [JsonPropertyName("max_wait_seconds")]
    public int MaxWaitSeconds { get; init; }

    /// <summary><c>promote</c> (raise an adjustable task's waiting run by <see cref="PromoteBy"/>) or <c>alert</c> (an audit row and a warning).</summary>
    public string Action { get; init; } = SlaActions.Alert;

    /// <summary>How much a promotion raises the run's priority.</summary>
    [JsonPropertyName("promote_by")]
    public int PromoteBy { get; init; } = 1;
}

/// <summary>The actions of an <see cref="SlaRule"/>.</summary>
public static class SlaActions
{
    public const string Promote = "promote";
    public const string Alert = "alert";
}

/// <summary>A policy: which tasks a pool accepts, by namespace and by tags. A pool with no policy accepts every task.</summary>
public sealed record PoolPolicy
{
    /// <summary>Unique across the configuration.</summary>
    public required string Name { get; init; }

    /// <summary>The pool it guards.</summary>
    public required string Pool { get; init; }

    /// <summary>Namespaces accepted; empty = any.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];

    /// <summary>Tags a task must carry, every one with the given value; empty = none required.</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>
/// The pool configuration (<c>pools.json</c> under DATA_ROOT): pools, their queues, SLA rules and policies. Without
/// the file there is one pool, <c>default</c>, holding MAX_CONCURRENT_TASKS runs, with one queue for every priority.
/// </summary>
public sealed record PoolConfiguration
{
    public IReadOnlyList<PoolDefinition> Pools { get; init; } = [];

    public IReadOnlyList<QueueDefinition> Queues { get; init; } = [];

    public IReadOnlyList<SlaRule> Slas { get; init; } = [];

    public IReadOnlyList<PoolPolicy> Policies { get; init; } = [];

    /// <summary>Where it was read from, or null for the built-in default.</summary>
    [JsonIgnore]
    public string? Source { get; init; }

    /// <summary>When it was loaded (UTC).</summary>
    [JsonIgnore]
    public DateTimeOffset LoadedAt { get; init; }

    /// <summary>The configuration without a file: one pool <c>default</c> of <paramref name="capacity"/> slots and one queue <c>default</c>.</summary>
    public static PoolConfiguration Default(int capacity) => new()
    {
        Pools = [new PoolDefinition { Name = PoolNames.Default, Capacity = capacity }],
        Queues = [new QueueDefinition { Name = PoolNames.Default, Pool = PoolNames.Default }],
    };

    /// <summary>The pool named <paramref name="name"/>, or null.</summary>
    public PoolDefinition? Pool(string? name) => Pools.FirstOrDefault(p => p.Name == name);

    /// <summary>The queue of <paramref name="pool"/> whose band holds <paramref name="priority"/> (the first listed), or null.</summary>
    public QueueDefinition? QueueFor(string pool, int priority) =>
        Queues.FirstOrDefault(q => q.Pool == pool && priority >= q.MinPriority && priority <= q.MaxPriority);

    /// <summary>Why <paramref name="pool"/> refuses a task of <paramref name="ns"/> with <paramref name="tags"/>, or null when a policy (or no policy) accepts it.</summary>
    public string? Refusal(string pool, string ns, IReadOnlyDictionary<string, string> tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        var policies = Policies.Where(p => p.Pool == pool).ToList();
        if (policies.Count == 0)
        {
            return null;
        }

        foreach (var policy in policies)
        {
            var nsOk = policy.Namespaces.Count == 0 || policy.Namespaces.Contains(ns, StringComparer.Ordinal);
            var tagsOk = policy.Tags.All(t => tags.TryGetValue(t.Key, out var v) && v == t.Value);
            if (nsOk && tagsOk)
            {
                return null;
            }
        }

        return $"pool '{pool}' accepts no task of namespace '{ns}' with these tags (policies: {string.Join(", ", policies.Select(p => p.Name))})";
    }
}

/// <summary>The outcome of a reload: the configuration now in force, or the problem that kept the previous one.</summary>
public sealed record PoolReloadResult(bool Ok, string? Problem, PoolConfiguration Current);

/// <summary>The pool configuration in force on this host, re-read on demand.</summary>
public interface IPoolConfiguration
{
    /// <summary>The configuration in force.</summary>
    PoolConfiguration Current { get; }

    /// <summary>Re-reads the file; a bad file changes nothing and says what is wrong.</summary>
    PoolReloadResult Reload();
}
