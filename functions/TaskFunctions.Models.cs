using EnvFabric.Core.Configuration;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;
using EnvFabric.Functions.Auth;
using EnvFabric.Orchestrations.Tasks;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>What the task handlers need, bound with <c>[AsParameters]</c>.</summary>
public sealed class TaskServices
{
    public required HttpContext Context { get; init; }

    [FromServices]
    public required ITaskRepository Tasks { get; init; }

    [FromServices]
    public required IEnvironmentRepository Environments { get; init; }

    [FromServices]
    public required Core.Projects.IProjectRepository Projects { get; init; }

    [FromServices]
    public required TaskStarter Starter { get; init; }

    [FromServices]
    public required IRunnerControl Control { get; init; }

    [FromServices]
    public required Core.Audit.IAuditLog Audit { get; init; }

    [FromServices]
    public required StorageAccount Storage { get; init; }

    [FromServices]
    public required StorageNames Names { get; init; }

    [FromServices]
    public required DataPaths Paths { get; init; }

    [FromServices]
    public required TaskOptions Options { get; init; }

    [FromServices]
    public required TimeProvider Time { get; init; }

    public CancellationToken Aborted => Context.RequestAborted;

    /// <summary>The caller's key name.</summary>
    public string Who => NamespaceAccess.KeyNameOf(Context.User) ?? "anonymous";

    /// <summary>The caller's address.</summary>
    public string ClientIp => Context.Connection.RemoteIpAddress?.ToString() ?? "";

    /// <summary>The namespace a listing is limited to: null for admins (everything), else the key's own.</summary>
    public string? VisibleNamespace => NamespaceAccess.IsAdmin(Context.User) ? null : NamespaceAccess.NamespaceOf(Context.User) ?? NamespaceAccess.DefaultNamespace;

    /// <summary>The environment handlers' services, for installing a task's requirements through EnvBuild.</summary>
    public EnvironmentServices EnvironmentServices()
    {
        var services = Context.RequestServices;
        return new EnvironmentServices
        {
            Context = Context,
            Environments = Environments,
            Builds = services.GetRequiredService<Orchestrations.Environments.EnvBuildStarter>(),
            Tasks = services.GetRequiredService<ITaskReferences>(),
            Runners = services.GetRequiredService<RunnerCapabilitiesView>(),
            Paths = Paths,
            Options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<EnvironmentsOptions>>(),
            Settings = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<EnvFabricOptions>>(),
            Time = Time,
        };
    }

    /// <summary>The task's absolute script directory.</summary>
    public string ScriptDirectory(long taskId) => Path.Combine(Paths.DataRoot, TaskRecord.ScriptDirectoryOf(taskId));
}

/// <summary>Settings of the tasks API.</summary>
public sealed class TaskOptions
{
    /// <summary>Upload and ZIP limits (TASK_MAX_UPLOAD_MB, TASK_MAX_EXTRACTED_MB, TASK_MAX_ZIP_ENTRIES).</summary>
    public UploadLimits Upload { get; init; } = new();

    /// <summary>How long executions are kept (TASK_HISTORY_DAYS, default 30: seed 003's month).</summary>
    public int HistoryDays { get; init; } = 30;

    /// <summary>How often a log stream reads the log blob for new output.</summary>
    public TimeSpan LogPollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest delay_seconds and interval_seconds accepted.</summary>
    public TriggerLimits Triggers { get; init; } = new();

    /// <summary>Completion callbacks (CALLBACK_MAX_ATTEMPTS, CALLBACK_RETRY_SECONDS, CALLBACK_TIMEOUT_SECONDS, CALLBACK_ALLOW_PRIVATE, CALLBACK_ALLOW_LOOPBACK).</summary>
    public Activities.Tasks.CallbackOptions Callbacks { get; init; } = new();
}

/// <summary>Seed 003's task object (create, detail, update), with the trigger, retry and limit fields added.</summary>
public sealed record TaskView(
    long TaskId,
    string TaskName,
    string ScriptPath,
    string CondaEnv,
    string Status,
    string CreatedAt,
    string UpdatedAt,
    string? CronExpression,
    string? NextRunTime,
    string? LastRunTime,
    double? LastRunDuration,
    string? Requirements,
    string Command,
    string Priority,
    string Namespace,
    string TriggerType,
    int? DelaySeconds,
    int? IntervalSeconds,
    string? RunAt,
    string? Timezone,
    int MaxRetries,
    int RetryIntervalSeconds,
    bool RetryBackoff,
    int? TimeoutSeconds,
    string Overlap,
    string? CallbackUrl,
    string? LastExecutionId,
    IReadOnlyList<string>? Executions,
    string? Project = null);

/// <summary>One row of <c>GET /api/tasks</c>.</summary>
public sealed record TaskListItem(
    long TaskId,
    string TaskName,
    string Status,
    string CondaEnv,
    string CreatedAt,
    string? CronExpression,
    string? NextRunTimeFormatted,
    string? LastRunTimeFormatted,
    double? LastRunDurationFormatted,
    string? CompletedAt,
    string Priority,
    string TriggerType,
    string? Project = null);

/// <summary>One execution in <c>execution_history</c> and <c>latest_execution</c>.</summary>
public sealed record ExecutionView(
    string ExecutionId,
    int Attempt,
    string Trigger,
    string? StartTime,
    string? EndTime,
    string Status,
    double? Duration,
    double? PeakMemory,
    double? AvgMemory,
    double? CpuSeconds,
    int? ExitCode,
    string? Error,
    CallbackView? Callback,
    string? Logs);

/// <summary>An execution's completion callback: <c>pending</c>, <c>delivered</c> or <c>failed</c>, attempts so far, the last error.</summary>
public sealed record CallbackView(string Status, int Attempts, string? Error, string? LastAttemptAt);

/// <summary>Seed 003's <c>performance_metrics</c>: the finished executions in time order.</summary>
public sealed record PerformanceMetrics(IReadOnlyList<double> Durations, IReadOnlyList<string> Timestamps, IReadOnlyList<double> PeakMemories, IReadOnlyList<double> AvgMemories);

/// <summary><c>GET /api/tasks/{id}</c>.</summary>
public sealed record TaskDetail(bool Success, TaskView Task, IReadOnlyList<ExecutionView> ExecutionHistory, PerformanceMetrics PerformanceMetrics, ExecutionView? LatestExecution);

/// <summary><c>POST /api/tasks</c>'s 201.</summary>
public sealed record TaskCreated(bool Success, string Message, TaskView Task, string? EnvironmentMessage, string? ExecutionId);

/// <summary>The task part of the control answers.</summary>
public sealed record TaskTransition(long TaskId, string TaskName, string Status, string PreviousStatus);

/// <summary>Trigger, stop, pause and resume answers.</summary>
public sealed record TaskControlResult(bool Success, string Message, TaskTransition Task);

/// <summary>A refused transition: seed 003's body with <c>current_status</c>.</summary>
public sealed record TaskRefused(bool Success, string Message, string Error, string CurrentStatus);

/// <summary>Task not found (seed 003: message only).</summary>
public sealed record TaskNotFound(bool Success, string Message);

/// <summary>A failed requirements install (seed 003).</summary>
public sealed record RequirementsFailure(bool Success, string Message, string Error, IReadOnlyList<string> FailedPackages, IReadOnlyList<string> ErrorDetails, string? EnvironmentState);

/// <summary><c>DELETE /api/tasks/{id}</c>.</summary>
public sealed record TaskDeleted(bool Success, string Message, long TaskId);

/// <summary><c>requirements_update</c> of the PUT answer.</summary>
public sealed record RequirementsUpdate(bool Success, IReadOnlyList<string> InstalledPackages, IReadOnlyList<string> FailedPackages);

/// <summary><c>PUT /api/tasks/{id}</c>.</summary>
public sealed record TaskUpdated(bool Success, string Message, TaskView Task, RequirementsUpdate? RequirementsUpdate);

/// <summary>The task part of the update-script answer.</summary>
public sealed record ScriptTask(long TaskId, string TaskName, string ScriptPath, string Command, string Status);

/// <summary><c>POST /api/tasks/{id}/update-script</c>.</summary>
public sealed record ScriptUpdated(bool Success, string Message, ScriptTask Task, IReadOnlyList<string> UpdatedFiles);

/// <summary>The JSON logs answer.</summary>
public sealed record TaskLogs(bool Success, long TaskId, string ExecutionId, string Logs, bool IsComplete, string? LastUpdate);

/// <summary>One SSE event of the logs stream.</summary>
public sealed record TaskLogEvent(string Logs, bool IsComplete);

/// <summary>One row of the history.</summary>
public sealed record TaskHistoryItem(
    long TaskId, string TaskName, string Status, string? ExecutionTime, double? Duration, double? PeakMemory, double? AvgMemory, int? ExitCode, string ExecutionId, string Trigger, int Attempt);

/// <summary><c>GET /api/tasks/history</c>.</summary>
public sealed record TaskHistory(string Status, IReadOnlyList<TaskHistoryItem> Data);

/// <summary><c>GET /api/tasks?page=</c>: a page with its total.</summary>
public sealed record TaskPage(IReadOnlyList<TaskListItem> Items, int Page, int Size, int Total);
