namespace EnvFabric.Core.Tasks;

/// <summary>Seed 003's task statuses.</summary>
public static class TaskStatuses
{
    /// <summary>Waiting for its next (or first) run.</summary>
    public const string Scheduled = "scheduled";

    /// <summary>A run is in progress.</summary>
    public const string Running = "running";

    /// <summary>Held: no new runs start, a running process is stopped (SIGSTOP).</summary>
    public const string Paused = "paused";

    /// <summary>Out of the scheduler: no run starts until triggered or updated.</summary>
    public const string Stopped = "stopped";

    /// <summary>A one-shot task whose run succeeded.</summary>
    public const string Completed = "completed";

    /// <summary>A one-shot task whose last attempt failed.</summary>
    public const string Failed = "failed";

    /// <summary>Every status, for validation and counting.</summary>
    public static readonly IReadOnlyList<string> All = [Scheduled, Running, Paused, Stopped, Completed, Failed];
}

/// <summary>Statuses of one execution (one attempt of one run).</summary>
public static class ExecutionStatuses
{
    /// <summary>Due, waiting for a concurrency slot.</summary>
    public const string Queued = "queued";

    /// <summary>Dispatched to a runner or running.</summary>
    public const string Running = "running";

    /// <summary>Exit code 0.</summary>
    public const string Completed = "completed";

    /// <summary>Non-zero exit, refused by the runner, or dispatch failed.</summary>
    public const string Failed = "failed";

    /// <summary>Killed after the task's timeout.</summary>
    public const string Timeout = "timeout";

    /// <summary>Stopped by a user.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>The runner died (stopped heartbeating) during the run.</summary>
    public const string Abnormal = "abnormal";

    /// <summary>A scheduled occurrence that found the previous run still going (overlap <c>skip</c>).</summary>
    public const string Skipped = "skipped";

    /// <summary>Whether the execution has ended.</summary>
    public static bool IsFinal(string? status) => status is Completed or Failed or Timeout or Cancelled or Abnormal or Skipped;

    /// <summary>Whether a retry policy applies to an execution that ended so.</summary>
    public static bool IsRetryable(string? status) => status is Failed or Timeout or Abnormal;
}

/// <summary>What started an execution.</summary>
public static class ExecutionTriggers
{
    public const string Cron = "cron";
    public const string Delay = "delay";
    public const string Manual = "manual";
    public const string Interval = "interval";
    public const string Date = "date";
    public const string Retry = "retry";

    /// <summary>The execution trigger of a scheduled occurrence of <paramref name="kind"/>.</summary>
    public static string For(TriggerKind kind) => kind switch
    {
        TriggerKind.Cron => Cron,
        TriggerKind.Delay => Delay,
        TriggerKind.Interval => Interval,
        TriggerKind.Date => Date,
        _ => Manual,
    };
}

/// <summary>Seed 003's priorities; higher runs first when runs wait for a concurrency slot.</summary>
public static class TaskPriorities
{
    public const string Low = "low";
    public const string Normal = "normal";
    public const string High = "high";

    /// <summary>Whether <paramref name="value"/> is one of the three.</summary>
    public static bool IsValid(string? value) => value is Low or Normal or High;

    /// <summary>The rank used for ordering: high 2, normal 1, low 0.</summary>
    public static int Rank(string? value) => value switch
    {
        High => 2,
        Low => 0,
        _ => 1,
    };
}

/// <summary>What a scheduled occurrence does when the task's previous run is still going.</summary>
public static class OverlapPolicies
{
    /// <summary>Start it anyway (runs side by side).</summary>
    public const string Allow = "allow";

    /// <summary>Record it <c>skipped</c> (the default).</summary>
    public const string Skip = "skip";

    /// <summary>Start it after the previous run ends.</summary>
    public const string Queue = "queue";

    public static bool IsValid(string? value) => value is Allow or Skip or Queue;
}

/// <summary>Kumo's retry policy: each retry is a new execution after a durable timer.</summary>
public sealed record RetryPolicySettings
{
    /// <summary>Retries after the first attempt (0 = none).</summary>
    public int MaxRetries { get; init; }

    /// <summary>Delay before the first retry.</summary>
    public int RetryIntervalSeconds { get; init; } = 60;

    /// <summary>Double the delay for each further retry.</summary>
    public bool ExponentialBackoff { get; init; }

    /// <summary>The delay before attempt <paramref name="nextAttempt"/> (2 = first retry), capped at a day.</summary>
    public TimeSpan DelayBefore(int nextAttempt)
    {
        var seconds = (double)Math.Max(0, RetryIntervalSeconds);
        if (ExponentialBackoff)
        {
            seconds *= Math.Pow(2, Math.Max(0, nextAttempt - 2));
        }

        return TimeSpan.FromSeconds(Math.Min(seconds, 86_400));
    }
}

/// <summary>A task (seed 003): a script directory, an environment, a command, a trigger and its run state.</summary>
public sealed record TaskRecord
{
    public required long TaskId { get; init; }

    public required string Name { get; init; }

    /// <summary>The namespace of the key that created it.</summary>
    public string Namespace { get; init; } = "default";

    /// <summary>Environment name (seed 003's <c>conda_env</c>).</summary>
    public required string Environment { get; init; }

    /// <summary>Command line run in the script directory; no shell.</summary>
    public string Command { get; init; } = "python main.py";

    /// <summary>The requirements text given with the task, if any.</summary>
    public string? Requirements { get; init; }

    /// <summary>The project the task runs in (in its work_dir) instead of an uploaded script; null = its own script directory.</summary>
    public string? Project { get; init; }

    public TaskTrigger Trigger { get; init; } = new() { Kind = TriggerKind.Now };

    public RetryPolicySettings Retry { get; init; } = new();

    /// <summary>Per-run time limit; null = none.</summary>
    public int? TimeoutSeconds { get; init; }

    public string Priority { get; init; } = TaskPriorities.Normal;

    public string Overlap { get; init; } = OverlapPolicies.Skip;

    /// <summary>Where the outcome of each finished run is POSTed (seed 002's callback payload), or null.</summary>
    public string? CallbackUrl { get; init; }

    public string Status { get; init; } = TaskStatuses.Scheduled;

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public DateTimeOffset? NextRunAt { get; init; }

    public DateTimeOffset? LastRunAt { get; init; }

    public double? LastRunDuration { get; init; }

    /// <summary>When a one-shot task reached completed or failed.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>The execution running or waiting now, if any.</summary>
    public string? CurrentExecutionId { get; init; }

    /// <summary>The runner job of <see cref="CurrentExecutionId"/> once dispatched (control requests go to it).</summary>
    public string? CurrentJobId { get; init; }

    public string? LastExecutionId { get; init; }

    /// <summary>When the current trigger was set (created, updated, resumed): delays and intervals count from it.</summary>
    public DateTimeOffset? ScheduleAnchor { get; init; }

    /// <summary>Bumped by every change of trigger or status the schedule must react to; its input carries the one it runs for.</summary>
    public int ScheduleGeneration { get; init; }

    /// <summary>The script directory relative to DATA_ROOT.</summary>
    public string ScriptDirectory => ScriptDirectoryOf(TaskId);

    /// <summary>Seed 002's task uuid (<c>/v2/tasks/{uuid}</c>); null for a task made through <c>/api/tasks</c>, which v2 names by its id.</summary>
    public string? Uuid { get; init; }

    /// <summary>The v2 template the task was rendered from, or null.</summary>
    public string? Template { get; init; }

    /// <summary>The v2 task's <c>extra</c> (a JSON object's text) as submitted, or null.</summary>
    public string? Extra { get; init; }

    /// <summary>The v2 task's <c>value</c> (its parameters, JSON text) as submitted, or null.</summary>
    public string? Value { get; init; }

    /// <summary>Seed 002's numeric priority (<c>prior</c>, higher first); null = from <see cref="Priority"/> (low 0, normal 1, high 2).</summary>
    public int? Prior { get; init; }

    /// <summary>The resources one run may use, or null for no limit.</summary>
    public TaskQuotas? Quotas { get; init; }

    /// <summary>The runner pool the task's runs go to.</summary>
    public string Pool { get; init; } = PoolNames.Default;

    /// <summary>Seed 002's <c>adjustable</c>: the scheduler may change the task's priority (SLA promotion applies only then).</summary>
    public bool Adjustable { get; init; }

    /// <summary>Seed 002's tags (<c>k=v,k=v</c>), which pool policies match.</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Seed 002's <c>times</c>: how many runs the schedule makes before it ends; null = no end.</summary>
    public int? MaxRuns { get; init; }

    /// <summary>Scheduled runs started so far (counted against <see cref="MaxRuns"/>).</summary>
    public int RunsStarted { get; init; }

    /// <summary>The due time of the last scheduled run counted in <see cref="RunsStarted"/>: a repeated start of the same occurrence does not count again.</summary>
    public DateTimeOffset? LastCountedDue { get; init; }

    /// <summary>Whether the schedule has made its <see cref="MaxRuns"/> runs (never, without a limit).</summary>
    public bool RunsExhausted => MaxRuns is { } max && RunsStarted >= max;

    /// <summary>Plain environment variables of the rendered v2 job, given to every run (configured variables of the same name win).</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The key that created the task.</summary>
    public string? CreatedBy { get; init; }

    /// <summary>The rank runs wait in: <see cref="Prior"/>, else seed 003's priority as 0, 1 or 2.</summary>
    public int EffectivePriority => Prior ?? TaskPriorities.Rank(Priority);

    /// <summary>Optimistic concurrency tag of the stored row.</summary>
    public string? ETag { get; init; }

    /// <summary><c>scripts/{task_id}</c>.</summary>
    public static string ScriptDirectoryOf(long taskId) => "scripts/" + taskId.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>One execution (attempt) of a task.</summary>
public sealed record ExecutionRecord
{
    public required long TaskId { get; init; }

    public required string ExecutionId { get; init; }

    /// <summary>The TaskRun orchestration instance this attempt belongs to.</summary>
    public required string RunId { get; init; }

    public int Attempt { get; init; } = 1;

    /// <summary><see cref="ExecutionTriggers"/> value.</summary>
    public required string Trigger { get; init; }

    public required string Status { get; init; }

    /// <summary>The environment at the time of the run.</summary>
    public required string Environment { get; init; }

    /// <summary>When the run was due.</summary>
    public DateTimeOffset DueAt { get; init; }

    /// <summary>When the execution was recorded (queued).</summary>
    public DateTimeOffset QueuedAt { get; init; }

    public DateTimeOffset? StartTime { get; init; }

    public DateTimeOffset? EndTime { get; init; }

    public int? ExitCode { get; init; }

    /// <summary>Seconds from process start to exit.</summary>
    public double? Duration { get; init; }

    public double? PeakMemoryMb { get; init; }

    public double? AvgMemoryMb { get; init; }

    public double? CpuSeconds { get; init; }

    public string? Error { get; init; }

    public string? JobId { get; init; }

    public string? RunnerId { get; init; }

    /// <summary>The log's blob name in the runner logs container.</summary>
    public required string LogBlob { get; init; }

    /// <summary>The completion callback: <c>pending</c>, <c>delivered</c> or <c>failed</c> (given up); null when the task has none.</summary>
    public string? CallbackStatus { get; init; }

    /// <summary>Callback attempts made so far.</summary>
    public int CallbackAttempts { get; init; }

    /// <summary>The last attempt's error (status code or reason), if it failed.</summary>
    public string? CallbackError { get; init; }

    /// <summary>When the callback was last attempted.</summary>
    public DateTimeOffset? CallbackAt { get; init; }

    /// <summary>Seed 002's instance tags (<c>POST /v2/instances/{runid}/tags</c>).</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The pool the attempt ran in (null for rows written before pools).</summary>
    public string? Pool { get; init; }

    /// <summary>The log blob of an execution.</summary>
    public static string LogBlobOf(long taskId, string executionId) =>
        $"tasks/{taskId.ToString(System.Globalization.CultureInfo.InvariantCulture)}/{executionId}.log";
}

/// <summary>The resources one run of a task may use (seed 002's <c>quotas</c>).</summary>
public sealed record TaskQuotas
{
    /// <summary>CPU as a number of cores (0.5 = half a core); null = no limit.</summary>
    public double? Cpu { get; init; }

    /// <summary>Memory in MiB; null = no limit.</summary>
    public long? MemoryMb { get; init; }

    /// <summary>GPUs; null or 0 = none.</summary>
    public int? Gpu { get; init; }
}

/// <summary>Runner pool names.</summary>
public static class PoolNames
{
    /// <summary>The pool of every runner without RUNNER_POOL and of every task that names none.</summary>
    public const string Default = "default";

    /// <summary>The accepted form: 1 to 32 lower-case letters, digits or '-', starting with a letter or digit (it becomes part of a queue name).</summary>
    public static bool IsValid(string? name) =>
        name is { Length: >= 1 and <= 32 } && (char.IsAsciiLetterLower(name[0]) || char.IsAsciiDigit(name[0])) && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') && !name.EndsWith('-') && !name.Contains("--", StringComparison.Ordinal);
}
