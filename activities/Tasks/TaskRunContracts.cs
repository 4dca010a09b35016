using EnvFabric.Core.Runner;

namespace EnvFabric.Activities.Tasks;

/// <summary>Settings a task run needs, fixed when it starts (orchestrations read no settings at run time).</summary>
/// <param name="MaxConcurrent">MAX_CONCURRENT_TASKS.</param>
/// <param name="PickupTimeoutSeconds">How long a dispatched job may wait for a runner before the attempt fails.</param>
/// <param name="StaleAfterSeconds">A job silent this long is taken for dead (its runner died): the execution is <c>abnormal</c>.</param>
/// <param name="SlotPollSeconds">How often a queued run re-asks for a slot when no wake-up event comes.</param>
public sealed record TaskRunSettings(int MaxConcurrent = 50, int PickupTimeoutSeconds = 600, int StaleAfterSeconds = 15, int SlotPollSeconds = 5);

/// <summary>Input of <c>TaskRun</c>: one run of a task (its first attempt and the retries).</summary>
/// <param name="TaskId">The task.</param>
/// <param name="Trigger">The execution trigger of the first attempt (<see cref="Core.Tasks.ExecutionTriggers"/>).</param>
/// <param name="DueAt">When the run was due.</param>
/// <param name="Settings">See <see cref="TaskRunSettings"/>.</param>
/// <param name="Who">Who started it (key name, or <c>scheduler</c>).</param>
/// <param name="ClientIp">From where, when a person did.</param>
/// <param name="FirstExecutionId">The execution id of the first attempt when the caller must know it at once (seed 002's <c>run_id</c>); null = made by the orchestration.</param>
public sealed record TaskRunInput(long TaskId, string Trigger, DateTimeOffset DueAt, TaskRunSettings Settings, string Who = "scheduler", string ClientIp = "", string? FirstExecutionId = null);

/// <summary>What a run ended with: its executions (one per attempt), the last one's status (or <c>abandoned</c>) and error.</summary>
public sealed record TaskRunResult(IReadOnlyList<string> ExecutionIds, string Status, string? Error);

/// <summary>Input of <c>PrepareTaskExecution</c>; with <c>Fast</c>, a free slot is taken and the job dispatched in the same step.</summary>
public sealed record PrepareExecutionRequest(long TaskId, string RunId, string ExecutionId, int Attempt, string Trigger, DateTimeOffset DueAt, DateTimeOffset QueuedAt, FastDispatch? Fast = null);

/// <summary>What the prepare step needs to dispatch at once: the slot limit and the job id to use.</summary>
public sealed record FastDispatch(int Limit, string JobId);

/// <summary>What an attempt runs, read from the task when it was recorded.</summary>
public sealed record ExecutionPlan
{
    /// <summary>False: nothing to run (task gone, stopped, skipped); <see cref="Reason"/> says why.</summary>
    public bool Proceed { get; init; }

    /// <summary>Set when not proceeding.</summary>
    public string? Reason { get; init; }

    /// <summary>Status recorded for the attempt when not proceeding (<c>skipped</c>, <c>failed</c>), or null when nothing was recorded.</summary>
    public string? RecordedStatus { get; init; }

    public string Environment { get; init; } = "";

    public string EnvironmentDirectory { get; init; } = "";

    public EnvironmentBackend Backend { get; init; }

    public string WorkingDirectory { get; init; } = "";

    /// <summary>A project task's output folder (absolute), created before the run and given as <c>ENVFABRIC_OUTPUT_DIR</c>; null = none.</summary>
    public string? OutputDirectory { get; init; }

    public string Command { get; init; } = "";

    public int? TimeoutSeconds { get; init; }

    public int MaxRetries { get; init; }

    public int RetryIntervalSeconds { get; init; }

    public bool ExponentialBackoff { get; init; }

    public int PriorityRank { get; init; } = 1;

    /// <summary>Wait for the task's other run to end before taking a slot.</summary>
    public bool OnePerTask { get; init; } = true;

    public string LogBlob { get; init; } = "";

    /// <summary>The runner pool the attempt runs in (its slots and its job queue).</summary>
    public string Pool { get; init; } = Core.Tasks.PoolNames.Default;

    /// <summary>The task's resource quotas, passed to the runner; null = none.</summary>
    public Core.Tasks.TaskQuotas? Quotas { get; init; }

    /// <summary>The prepare step took a slot and dispatched the job already.</summary>
    public bool Dispatched { get; init; }
}

/// <summary>Input of <c>AcquireTaskSlot</c>; <c>Limit</c> is MAX_CONCURRENT_TASKS (the default pool's capacity without a pool file), <c>Pool</c> the run's pool.</summary>
public sealed record AcquireSlotRequest(long TaskId, string ExecutionId, string InstanceId, int PriorityRank, DateTimeOffset QueuedAt, bool OnePerTask, int Limit, string Pool = Core.Tasks.PoolNames.Default);

/// <summary>Output of <c>AcquireTaskSlot</c>.</summary>
/// <param name="Granted">The run may start.</param>
/// <param name="Abandon">The task was stopped or deleted while the run waited.</param>
/// <param name="Position">Place in the line.</param>
public sealed record AcquireSlotResponse(bool Granted, bool Abandon, int Position);

/// <summary>Input of <c>DispatchTaskJob</c>.</summary>
public sealed record DispatchTaskJobRequest(long TaskId, string ExecutionId, string JobId, string InstanceId, ExecutionPlan Plan);

/// <summary>Input of <c>FinishTaskExecution</c>; <c>WillRetry</c>: the orchestration plans another attempt (the policy allows it and the status is retryable).</summary>
public sealed record FinishExecutionRequest(
    long TaskId,
    string ExecutionId,
    string RunId,
    int Attempt,
    string Status,
    string? Error,
    JobResult? Result,
    string? RunnerId,
    bool WillRetry,
    string Who,
    string ClientIp);

/// <summary>Output of <c>FinishTaskExecution</c>.</summary>
/// <param name="Retry">Go on with the retry (the task still exists and was not stopped).</param>
/// <param name="Wake">Queued runs to wake: a slot became free.</param>
public sealed record FinishExecutionResponse(bool Retry, IReadOnlyList<string> Wake);

/// <summary>Input of <c>Schedule</c>: the task and the due time of the occurrence last started (null at first).</summary>
public sealed record ScheduleInput(long TaskId, DateTimeOffset? PreviousDue, TaskRunSettings Settings);

/// <summary>Input of <c>PlanScheduleStep</c>.</summary>
public sealed record SchedulePlanRequest(long TaskId, DateTimeOffset? PreviousDue);

/// <summary>
/// What the schedule does next: <c>Action</c> is <c>end</c> (stopped, deleted, one-shot done), <c>paused</c> (wait for a
/// change) or <c>wait</c> (until <c>Due</c>); <c>Generation</c> is the task's schedule generation the plan was made for.
/// </summary>
public sealed record SchedulePlan(string Action, DateTimeOffset? Due, int Generation, string Trigger);

/// <summary>Input of <c>StartScheduledRun</c>.</summary>
public sealed record StartScheduledRunRequest(long TaskId, int Generation, DateTimeOffset Due, string Trigger, TaskRunSettings Settings);

/// <summary>Output of <c>StartScheduledRun</c>: <c>started</c>, <c>skipped</c> or <c>replan</c> (the task changed since the plan).</summary>
public sealed record StartScheduledRunResponse(string Outcome, string? InstanceId);

/// <summary>External event names of the task orchestrations.</summary>
public static class TaskEvents
{
    /// <summary>The task changed (trigger, pause, resume, stop): the schedule re-plans.</summary>
    public const string ScheduleChanged = "ScheduleChanged";

    /// <summary>A concurrency slot became free: a queued run asks again.</summary>
    public const string SlotFreed = "SlotFreed";
}

/// <summary>Instance ids of the task orchestrations.</summary>
public static class TaskInstanceIds
{
    /// <summary>The one schedule of a task.</summary>
    public static string Schedule(long taskId) => "schedule-" + taskId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The run of a scheduled occurrence: derived from the due time, so a repeated start is a duplicate.</summary>
    public static string ScheduledRun(long taskId, DateTimeOffset due) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"run-{taskId}-{due.UtcTicks}");

    /// <summary>A manual (or immediate) run.</summary>
    public static string ManualRun(long taskId) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"run-{taskId}-m{Guid.NewGuid():N}");

    /// <summary>The delivery of one execution's completion callback.</summary>
    public static string Callback(string executionId) => "callback-" + executionId;
}
