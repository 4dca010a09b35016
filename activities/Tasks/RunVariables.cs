using EnvFabric.Core.Tasks;

namespace EnvFabric.Activities.Tasks;

/// <summary>The variables a run receives: plain ones (logged like any environment variable) and secrets (masked).</summary>
public sealed record ResolvedVariables(IReadOnlyDictionary<string, string> Plain, IReadOnlyDictionary<string, string> Secrets)
{
    /// <summary>No variables.</summary>
    public static ResolvedVariables None { get; } = new(new Dictionary<string, string>(), new Dictionary<string, string>());
}

/// <summary>
/// Resolves the configured variables for one run of a task (system, then namespace, then task: the narrower
/// scope wins). Called inside the dispatch activity only, so values never enter the durable history.
/// </summary>
public interface IRunVariables
{
    /// <summary>The variables of <paramref name="task"/>'s run <paramref name="executionId"/>; reading secrets is audited by the implementation.</summary>
    Task<ResolvedVariables> ResolveAsync(TaskRecord task, string executionId, CancellationToken cancellationToken = default);
}

/// <summary>A deployment without a variables store: no variables are configured.</summary>
public sealed class NoRunVariables : IRunVariables
{
    public Task<ResolvedVariables> ResolveAsync(TaskRecord task, string executionId, CancellationToken cancellationToken = default) =>
        Task.FromResult(ResolvedVariables.None);
}
