using System.Text.Json.Serialization;

namespace EnvFabric.Durable.Storage;

/// <summary>The history event types of DTFx (the subset this runtime produces).</summary>
internal enum EventType
{
    ExecutionStarted,
    ExecutionCompleted,
    ExecutionTerminated,
    ExecutionSuspended,
    ExecutionResumed,
    TaskScheduled,
    TaskCompleted,
    TaskFailed,
    SubOrchestrationInstanceCreated,
    SubOrchestrationInstanceCompleted,
    SubOrchestrationInstanceFailed,
    TimerCreated,
    TimerFired,
    EventRaised,
    EventSent,
    OrchestratorStarted,
    OrchestratorCompleted,
}

/// <summary>
/// One history event; the same shape travels in queue messages and lands in History rows. A flat class
/// instead of DTFx's hierarchy: the fields a type does not use stay null.
/// </summary>
internal sealed class HistoryEvent
{
    public EventType EventType { get; set; }

    /// <summary>The scheduling id of TaskScheduled, TimerCreated, SubOrchestrationInstanceCreated, EventSent; else -1.</summary>
    public int EventId { get; set; } = -1;

    public DateTime Timestamp { get; set; }

    public bool IsPlayed { get; set; }

    public string? Name { get; set; }

    public string? Input { get; set; }

    public string? Result { get; set; }

    /// <summary>For responses: the EventId of the scheduling event they answer.</summary>
    public int? TaskScheduledId { get; set; }

    public DateTime? FireAt { get; set; }

    /// <summary>Target instance of SubOrchestrationInstanceCreated and EventSent.</summary>
    public string? InstanceId { get; set; }

    /// <summary>The execution an ExecutionStarted begins.</summary>
    public string? ExecutionId { get; set; }

    public string? Reason { get; set; }

    public TaskFailureDetails? FailureDetails { get; set; }

    public OrchestrationRuntimeStatus? OrchestrationStatus { get; set; }

    public string? ParentInstanceId { get; set; }

    public string? ParentExecutionId { get; set; }

    public string? ParentName { get; set; }

    public int? ParentTaskScheduledId { get; set; }

    public DateTime? ScheduledStartTime { get; set; }

    /// <summary>True when a client (not a parent orchestration) scheduled this ExecutionStarted.</summary>
    public bool? FromClient { get; set; }

    /// <summary>The queue message that delivered the event: a redelivered message already in history is dropped.</summary>
    public string? MessageId { get; set; }

    [JsonIgnore]
    public bool IsResponse => EventType is EventType.TaskCompleted or EventType.TaskFailed or EventType.TimerFired
        or EventType.SubOrchestrationInstanceCompleted or EventType.SubOrchestrationInstanceFailed;

    [JsonIgnore]
    public bool IsScheduling => EventType is EventType.TaskScheduled or EventType.TimerCreated
        or EventType.SubOrchestrationInstanceCreated or EventType.EventSent;

    public HistoryEvent Clone() => (HistoryEvent)MemberwiseClone();
}

/// <summary>
/// A queue message: an event for an instance. <see cref="BlobName"/> replaces everything else when the message
/// was too large for the queue and went to the large-message container.
/// </summary>
internal sealed class TaskMessage
{
    public string? InstanceId { get; set; }

    /// <summary>The execution the event belongs to; null for events that follow the instance (raised events, terminate).</summary>
    public string? ExecutionId { get; set; }

    public HistoryEvent? Event { get; set; }

    /// <summary>When the sender enqueued it; used to age start messages whose Instances row is not written yet.</summary>
    public DateTime SentAt { get; set; }

    public string? BlobName { get; set; }

    /// <summary>With a ContinueAsNew start: the events the previous execution received but did not process.</summary>
    public List<HistoryEvent>? Carryover { get; set; }
}
