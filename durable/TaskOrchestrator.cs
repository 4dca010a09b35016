namespace EnvFabric.Durable;

/// <summary>
/// The untyped view of an orchestrator the runtime drives. Derive from <see cref="TaskOrchestrator{TInput,TOutput}"/>
/// instead of implementing this directly.
/// </summary>
public interface ITaskOrchestrator
{
    /// <summary>Runs the orchestrator body, reading its input from <paramref name="context"/>.</summary>
    Task<object?> RunAsync(TaskOrchestrationContext context);
}

/// <summary>The untyped view of an activity. Derive from <see cref="TaskActivity{TInput,TOutput}"/> instead.</summary>
public interface ITaskActivity
{
    /// <summary>Runs the activity, reading its input from <paramref name="context"/>.</summary>
    Task<object?> RunAsync(TaskActivityContext context);
}

/// <summary>
/// A class-based orchestrator, as in Microsoft.DurableTask. A new instance is created through DI for every
/// episode (replay), so it must keep no state in fields between awaits that is not rebuilt by replay.
/// Orchestrator code must be deterministic: no I/O, no <c>DateTime.UtcNow</c> (use
/// <see cref="TaskOrchestrationContext.CurrentUtcDateTime"/>), no <c>Guid.NewGuid()</c> (use
/// <see cref="TaskOrchestrationContext.NewGuid"/>), no <c>Task.Run</c>, <c>Task.Delay</c> or <c>ConfigureAwait(false)</c>.
/// </summary>
/// <typeparam name="TInput">The input type, deserialized from JSON.</typeparam>
/// <typeparam name="TOutput">The output type, serialized to JSON.</typeparam>
public abstract class TaskOrchestrator<TInput, TOutput> : ITaskOrchestrator
{
    /// <summary>The orchestrator body.</summary>
    /// <param name="context">The orchestration context: the only source of time, randomness and side effects.</param>
    /// <param name="input">The orchestration's input.</param>
    public abstract Task<TOutput> RunAsync(TaskOrchestrationContext context, TInput input);

    async Task<object?> ITaskOrchestrator.RunAsync(TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return await RunAsync(context, context.GetInput<TInput>()!);
    }
}

/// <summary>
/// A class-based activity, as in Microsoft.DurableTask. Created through DI (constructor injection) for each
/// execution. Activities may do I/O; they run at least once, so they should be idempotent.
/// </summary>
/// <typeparam name="TInput">The input type, deserialized from JSON.</typeparam>
/// <typeparam name="TOutput">The output type, serialized to JSON.</typeparam>
public abstract class TaskActivity<TInput, TOutput> : ITaskActivity
{
    /// <summary>The activity body.</summary>
    /// <param name="context">The activity context.</param>
    /// <param name="input">The activity's input.</param>
    public abstract Task<TOutput> RunAsync(TaskActivityContext context, TInput input);

    async Task<object?> ITaskActivity.RunAsync(TaskActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return await RunAsync(context, context.GetInput<TInput>()!).ConfigureAwait(false);
    }
}

/// <summary>What an activity knows about its call.</summary>
public abstract class TaskActivityContext
{
    /// <summary>The activity's registered name.</summary>
    public abstract string Name { get; }

    /// <summary>The id of the orchestration instance that scheduled this activity.</summary>
    public abstract string InstanceId { get; }

    /// <summary>Cancelled when the worker shuts down; the activity will then run again elsewhere.</summary>
    public abstract CancellationToken CancellationToken { get; }

    /// <summary>The activity's input, deserialized as <typeparamref name="T"/>.</summary>
    public abstract T? GetInput<T>();
}

/// <summary>The parent of a sub-orchestration.</summary>
/// <param name="Name">The parent orchestrator's name.</param>
/// <param name="InstanceId">The parent's instance id.</param>
public sealed record ParentOrchestrationInstance(string Name, string InstanceId);
