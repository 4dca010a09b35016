using System.Text.Json;

namespace EnvFabric.Durable;

/// <summary>An instance's runtime status (Microsoft.DurableTask's values).</summary>
public enum OrchestrationRuntimeStatus
{
    /// <summary>Started and not finished.</summary>
    Running = 0,

    /// <summary>Finished with an output.</summary>
    Completed = 1,

    /// <summary>Restarted itself with a new input (transient).</summary>
    ContinuedAsNew = 2,

    /// <summary>Finished with an unhandled exception; the failure details are the output.</summary>
    Failed = 3,

    /// <summary>Cancelled (kept for compatibility; not produced by this runtime).</summary>
    Canceled = 4,

    /// <summary>Stopped by a client.</summary>
    Terminated = 5,

    /// <summary>Scheduled, not started yet.</summary>
    Pending = 6,

    /// <summary>Paused by a client; events wait until it is resumed.</summary>
    Suspended = 7,
}

/// <summary>An instance's state as stored in the Instances table.</summary>
public sealed class OrchestrationMetadata
{
    private readonly JsonSerializerOptions _json;

    /// <summary>Creates the metadata; <paramref name="serializerOptions"/> reads the serialized values.</summary>
    public OrchestrationMetadata(string name, string instanceId, JsonSerializerOptions serializerOptions)
    {
        Name = name;
        InstanceId = instanceId;
        _json = serializerOptions;
    }

    /// <summary>The orchestrator's name.</summary>
    public string Name { get; }

    /// <summary>The instance id.</summary>
    public string InstanceId { get; }

    /// <summary>The current execution's id (changes on ContinueAsNew).</summary>
    public string? ExecutionId { get; init; }

    /// <summary>The runtime status.</summary>
    public OrchestrationRuntimeStatus RuntimeStatus { get; init; }

    /// <summary>When the instance was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the instance last changed.</summary>
    public DateTimeOffset LastUpdatedAt { get; init; }

    /// <summary>When the instance finished, if it has.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>The delayed start time, when one was asked for.</summary>
    public DateTimeOffset? ScheduledStartAt { get; init; }

    /// <summary>The input as JSON (null unless inputs and outputs were fetched).</summary>
    public string? SerializedInput { get; init; }

    /// <summary>The output as JSON (null unless fetched or not finished).</summary>
    public string? SerializedOutput { get; init; }

    /// <summary>The custom status as JSON.</summary>
    public string? SerializedCustomStatus { get; init; }

    /// <summary>The failure, when <see cref="RuntimeStatus"/> is <see cref="OrchestrationRuntimeStatus.Failed"/>.</summary>
    public TaskFailureDetails? FailureDetails { get; init; }

    /// <summary>True while Pending, Running or Suspended.</summary>
    public bool IsRunning => RuntimeStatus is OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Suspended or OrchestrationRuntimeStatus.ContinuedAsNew;

    /// <summary>True once Completed, Failed, Terminated or Canceled.</summary>
    public bool IsCompleted => !IsRunning;

    /// <summary>The input deserialized as <typeparamref name="T"/>.</summary>
    public T? ReadInputAs<T>() => Read<T>(SerializedInput);

    /// <summary>The output deserialized as <typeparamref name="T"/>.</summary>
    public T? ReadOutputAs<T>() => Read<T>(SerializedOutput);

    /// <summary>The custom status deserialized as <typeparamref name="T"/>.</summary>
    public T? ReadCustomStatusAs<T>() => Read<T>(SerializedCustomStatus);

    private T? Read<T>(string? json) => string.IsNullOrEmpty(json) ? default : JsonSerializer.Deserialize<T>(json, _json);
}

/// <summary>A filter over instances; every condition given must hold.</summary>
/// <param name="CreatedFrom">Created at or after.</param>
/// <param name="CreatedTo">Created at or before.</param>
/// <param name="Statuses">Any of these statuses; null or empty for all.</param>
/// <param name="InstanceIdPrefix">Instance ids starting with this.</param>
/// <param name="PageSize">Instances per page (1-1000).</param>
/// <param name="FetchInputsAndOutputs">Include inputs and outputs.</param>
/// <param name="ContinuationToken">The token of the previous page.</param>
public sealed record OrchestrationQuery(
    DateTimeOffset? CreatedFrom = null,
    DateTimeOffset? CreatedTo = null,
    IReadOnlyCollection<OrchestrationRuntimeStatus>? Statuses = null,
    string? InstanceIdPrefix = null,
    int PageSize = 100,
    bool FetchInputsAndOutputs = false,
    string? ContinuationToken = null);

/// <summary>One page of a query.</summary>
/// <param name="Instances">The instances of this page.</param>
/// <param name="ContinuationToken">The next page's token; null on the last page.</param>
public sealed record OrchestrationQueryResult(IReadOnlyList<OrchestrationMetadata> Instances, string? ContinuationToken);

/// <summary>Which finished instances to purge.</summary>
/// <param name="CreatedFrom">Created at or after.</param>
/// <param name="CreatedTo">Created at or before.</param>
/// <param name="Statuses">Any of these statuses; null for every terminal status.</param>
public sealed record PurgeInstancesFilter(
    DateTimeOffset? CreatedFrom = null,
    DateTimeOffset? CreatedTo = null,
    IReadOnlyCollection<OrchestrationRuntimeStatus>? Statuses = null);

/// <summary>The result of a purge.</summary>
/// <param name="PurgedInstanceCount">Instances deleted.</param>
public sealed record PurgeResult(int PurgedInstanceCount);

/// <summary>One event of an instance's history, as the management API shows it.</summary>
/// <param name="EventType">The event type (ExecutionStarted, TaskScheduled, TaskCompleted, ...).</param>
/// <param name="EventId">The scheduling id, or -1.</param>
/// <param name="Timestamp">When the event was recorded.</param>
/// <param name="Name">The task, timer or event name, when there is one.</param>
/// <param name="Input">The input or payload JSON.</param>
/// <param name="Result">The result JSON.</param>
/// <param name="ScheduledId">For responses, the id of the scheduling event.</param>
/// <param name="FireAt">For timers, when they fire.</param>
/// <param name="FailureDetails">For failures, the details.</param>
public sealed record HistoryEventInfo(
    string EventType,
    int EventId,
    DateTime Timestamp,
    string? Name,
    string? Input,
    string? Result,
    int? ScheduledId,
    DateTime? FireAt,
    TaskFailureDetails? FailureDetails);
