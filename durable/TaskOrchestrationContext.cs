using Microsoft.Extensions.Logging;

namespace EnvFabric.Durable;

/// <summary>
/// The orchestrator's view of its instance (Microsoft.DurableTask's <c>TaskOrchestrationContext</c>). Every
/// method that schedules work returns a durable task: awaiting it suspends the orchestrator until the
/// result is in history; on replay the same calls are matched against history instead of being scheduled
/// again. <see cref="Task.WhenAll(Task[])"/> and <see cref="Task.WhenAny(Task[])"/> over durable tasks work.
/// </summary>
public abstract class TaskOrchestrationContext
{
    /// <summary>The orchestrator's registered name.</summary>
    public abstract string Name { get; }

    /// <summary>The instance id.</summary>
    public abstract string InstanceId { get; }

    /// <summary>The parent instance when this is a sub-orchestration, else null.</summary>
    public abstract ParentOrchestrationInstance? Parent { get; }

    /// <summary>The replay-safe current time: the time the current episode started, the same on every replay.</summary>
    public abstract DateTime CurrentUtcDateTime { get; }

    /// <summary>True while the orchestrator is re-executing code whose effects are already in history.</summary>
    public abstract bool IsReplaying { get; }

    /// <summary>The orchestration's input, deserialized as <typeparamref name="T"/>.</summary>
    public abstract T? GetInput<T>();

    /// <summary>Schedules an activity and waits for it, ignoring its result.</summary>
    public Task CallActivityAsync(string name, object? input = null, TaskOptions? options = null) =>
        CallActivityAsync<object?>(name, input, options);

    /// <summary>
    /// Schedules an activity and waits for its result. A failure surfaces as <see cref="TaskFailedException"/>
    /// after the retry policy in <paramref name="options"/>, if any, is exhausted (retries wait on durable timers).
    /// </summary>
    public abstract Task<TResult> CallActivityAsync<TResult>(string name, object? input = null, TaskOptions? options = null);

    /// <summary>Starts a sub-orchestration and waits for it, ignoring its output.</summary>
    public Task CallSubOrchestratorAsync(string orchestratorName, object? input = null, TaskOptions? options = null) =>
        CallSubOrchestratorAsync<object?>(orchestratorName, input, options);

    /// <summary>
    /// Starts a sub-orchestration and waits for its output. Its instance id is
    /// <see cref="SubOrchestrationOptions.InstanceId"/> when given, else <see cref="NewGuid"/> in "N" format.
    /// </summary>
    public abstract Task<TResult> CallSubOrchestratorAsync<TResult>(string orchestratorName, object? input = null, TaskOptions? options = null);

    /// <summary>A durable timer that fires at <paramref name="fireAt"/> (UTC); cancelling it completes the task as cancelled.</summary>
    public abstract Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken);

    /// <summary>A durable timer that fires <paramref name="delay"/> after <see cref="CurrentUtcDateTime"/>.</summary>
    public Task CreateTimer(TimeSpan delay, CancellationToken cancellationToken) =>
        CreateTimer(CurrentUtcDateTime.Add(delay), cancellationToken);

    /// <summary>Waits for an external event raised by name (case-insensitive), deserializing its payload.</summary>
    public abstract Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits for an external event, racing a durable timer: throws <see cref="TimeoutException"/> when the timer
    /// wins. The timer is cancelled when the event wins.
    /// </summary>
    public async Task<T> WaitForExternalEvent<T>(string eventName, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var timerCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var eventCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var eventTask = WaitForExternalEvent<T>(eventName, eventCancellation.Token);
        var timerTask = CreateTimer(timeout, timerCancellation.Token);
        var winner = await Task.WhenAny(eventTask, timerTask);

        // Cancel synchronously: CancelAsync would run the callbacks on another thread, outside the orchestrator's
        // single-threaded, replayable execution.
#pragma warning disable CA1849
        if (winner == eventTask)
        {
            timerCancellation.Cancel();
            return await eventTask;
        }

        eventCancellation.Cancel();
#pragma warning restore CA1849
        cancellationToken.ThrowIfCancellationRequested();
        throw new TimeoutException($"Event '{eventName}' was not received within {timeout}.");
    }

    /// <summary>Sends an event to another instance (fire and forget; delivered once the current episode is checkpointed).</summary>
    public abstract void SendEvent(string instanceId, string eventName, object? payload);

    /// <summary>Sets the custom status clients see; saved with the next checkpoint.</summary>
    public abstract void SetCustomStatus(object? customStatus);

    /// <summary>
    /// Restarts the orchestration with a new input and a fresh history once the orchestrator returns. With
    /// <paramref name="preserveUnprocessedEvents"/>, external events received but not yet awaited are
    /// delivered to the new execution.
    /// </summary>
    public abstract void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true);

    /// <summary>A deterministic UUIDv5 over the instance id, <see cref="CurrentUtcDateTime"/> and a counter.</summary>
    public abstract Guid NewGuid();

    /// <summary>A logger that writes nothing while <see cref="IsReplaying"/>.</summary>
    public abstract ILogger CreateReplaySafeLogger(string categoryName);

    /// <summary>A replay-safe logger named after <typeparamref name="T"/>.</summary>
    public ILogger CreateReplaySafeLogger<T>() => CreateReplaySafeLogger(typeof(T).FullName ?? typeof(T).Name);
}
