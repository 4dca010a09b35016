namespace EnvFabric.Durable;

/// <summary>
/// Starts, queries and controls orchestration instances (Microsoft.DurableTask's <c>DurableTaskClient</c>).
/// Registered by <c>AddDurableTask</c> and by <c>AddDurableTaskClient</c> (for a process that runs no worker).
/// </summary>
public abstract class DurableTaskClient
{
    /// <summary>The task hub's name.</summary>
    public abstract string HubName { get; }

    /// <summary>
    /// Schedules a new instance of the orchestrator <paramref name="orchestratorName"/> and returns its id. An id in use
    /// by an instance that has not finished is refused with <see cref="OrchestrationAlreadyExistsException"/>; a
    /// finished one is replaced.
    /// </summary>
    public abstract Task<string> ScheduleNewOrchestrationInstanceAsync(string orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default);

    /// <summary>An instance's metadata, or null when unknown.</summary>
    public abstract Task<OrchestrationMetadata?> GetInstanceAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default);

    /// <summary>A page of instances matching <paramref name="query"/>.</summary>
    public abstract Task<OrchestrationQueryResult> QueryInstancesAsync(OrchestrationQuery query, CancellationToken cancellation = default);

    /// <summary>An instance's current history, oldest first (empty when unknown).</summary>
    public abstract Task<IReadOnlyList<HistoryEventInfo>> GetInstanceHistoryAsync(string instanceId, CancellationToken cancellation = default);

    /// <summary>Raises an external event; an instance that is not waiting for it keeps it until it does.</summary>
    public abstract Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default);

    /// <summary>Terminates a running instance; its output becomes <paramref name="reason"/>.</summary>
    public abstract Task TerminateInstanceAsync(string instanceId, object? reason = null, CancellationToken cancellation = default);

    /// <summary>Suspends an instance: events and results wait until it is resumed.</summary>
    public abstract Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default);

    /// <summary>Resumes a suspended instance.</summary>
    public abstract Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default);

    /// <summary>Deletes a finished instance's state and history; false when unknown or not finished.</summary>
    public abstract Task<PurgeResult> PurgeInstanceAsync(string instanceId, CancellationToken cancellation = default);

    /// <summary>Deletes the finished instances matching <paramref name="filter"/>.</summary>
    public abstract Task<PurgeResult> PurgeInstancesAsync(PurgeInstancesFilter filter, CancellationToken cancellation = default);

    /// <summary>Waits until the instance has started (left Pending); polls with backoff.</summary>
    public abstract Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default);

    /// <summary>Waits until the instance has finished; polls with backoff.</summary>
    public abstract Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default);
}
