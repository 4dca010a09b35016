using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Tasks;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;
using EnvFabric.Orchestrations.Tasks;

namespace EnvFabric.Functions;

/// <summary>
/// Seed 003's task API under <c>/api/tasks</c>: create from a script or ZIP, list, detail with executions and
/// metrics, logs (JSON and SSE), trigger, stop, pause, resume, stats, history, delete, update and update-script.
/// Runs are <c>TaskRun</c> orchestrations, schedules <c>Schedule</c> orchestrations; a <c>user</c> key sees and
/// touches only its namespace's tasks.
/// </summary>
public static partial class TaskFunctions
{
    private static readonly JsonSerializerOptions AuditJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static RouteGroupBuilder MapTaskFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/api/tasks").WithTags("Tasks").AddEndpointFilter(Extensions.EnvironmentReadiness.Filter);
        group.MapGet("", ListTasks);
        group.MapGet("/stats", GetStats);
        group.MapGet("/history", GetHistory);
        group.MapGet("/cron-preview", CronPreview);
        group.MapGet("/{id}", GetTask);
        group.MapGet("/{id}/executions/{executionId}/logs", GetLogs).DisableRequestTimeout();
        group.MapPost("/{id}/trigger", Trigger);
        group.MapPost("/{id}/stop", Stop);
        group.MapPost("/{id}/pause", Pause);
        group.MapPost("/{id}/resume", Resume);

        // Requirements installs can outlast the host's request timeout.
        group.MapPost("", CreateTask).DisableAntiforgery().DisableRequestTimeout();
        group.MapPut("/{id}", UpdateTask).DisableRequestTimeout();
        group.MapPost("/{id}/update-script", UpdateScript).DisableAntiforgery().DisableRequestTimeout();
        group.MapDelete("/{id}", DeleteTask);
        return group;
    }

    public static async Task<IResult> ListTasks(string? type, int? page, int? size, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (type is not (null or "" or "defined" or "history"))
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid type", $"type must be 'defined' or 'history', not '{type}'");
        }

        if (type == "history")
        {
            return TypedResults.Ok(await HistoryAsync(s));
        }

        if (page is not null || size is not null)
        {
            if (page is < 1 || size is < 1 or > 1000)
            {
                return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid paging", "page must be at least 1 and size between 1 and 1000");
            }

            var (items, total) = await s.Tasks.ListPageAsync(page ?? 1, size ?? 50, s.VisibleNamespace, withTotal: true, s.Aborted);
            return TypedResults.Ok(new TaskPage(items.Select(ListItem).ToList(), page ?? 1, size ?? 50, total ?? 0));
        }

        var list = new List<TaskListItem>();
        await foreach (var task in s.Tasks.ListAsync(s.VisibleNamespace, s.Aborted))
        {
            list.Add(ListItem(task));
        }

        return TypedResults.Ok(list);
    }

    public static async Task<IResult> GetTask(string id, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (task, missing) = await FindAsync(id, s);
        if (task is null)
        {
            return missing!;
        }

        var executions = (await s.Tasks.ListExecutionsAsync(task.TaskId, s.Aborted)).OrderByDescending(e => e.ExecutionId, StringComparer.Ordinal).ToList();
        var finished = executions.Where(e => e.Duration is not null && e.Status != ExecutionStatuses.Skipped).OrderBy(e => e.ExecutionId, StringComparer.Ordinal).ToList();
        var metrics = new PerformanceMetrics(
            finished.Select(e => e.Duration ?? 0).ToList(),
            finished.Select(e => Date(e.StartTime ?? e.QueuedAt)!).ToList(),
            finished.Select(e => e.PeakMemoryMb ?? 0).ToList(),
            finished.Select(e => e.AvgMemoryMb ?? 0).ToList());
        ExecutionView? latest = null;
        if (executions.FirstOrDefault() is { } last)
        {
            var chunk = await RunnerLogs.ReadAsync(LogsContainer(s), last.LogBlob, 0, s.Aborted);
            latest = View(last, StripMarker(chunk.Text));
        }

        return TypedResults.Ok(new TaskDetail(true, View(task, executions.Select(e => e.ExecutionId).ToList()), executions.Select(e => View(e, null)).ToList(), metrics, latest));
    }

    public static async Task<IResult> GetHistory([AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return TypedResults.Ok(new TaskHistory("success", await HistoryAsync(s)));
    }

    private static async Task<List<TaskHistoryItem>> HistoryAsync(TaskServices s)
    {
        var since = s.Time.GetUtcNow().AddDays(-s.Options.HistoryDays);
        var names = new Dictionary<long, string>();
        await foreach (var task in s.Tasks.ListAsync(s.VisibleNamespace, s.Aborted))
        {
            names[task.TaskId] = task.Name;
        }

        var items = new List<TaskHistoryItem>();
        await foreach (var e in s.Tasks.ListExecutionsSinceAsync(since, s.Aborted))
        {
            if (names.TryGetValue(e.TaskId, out var name))
            {
                items.Add(new TaskHistoryItem(e.TaskId, name, e.Status, Date(e.StartTime ?? e.QueuedAt), e.Duration, e.PeakMemoryMb, e.AvgMemoryMb, e.ExitCode, e.ExecutionId, e.Trigger, e.Attempt));
            }
        }

        return items.OrderByDescending(i => i.ExecutionId, StringComparer.Ordinal).ToList();
    }

    public static async Task<IResult> GetLogs(string id, string executionId, bool? stream, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (task, _) = await FindAsync(id, s);
        var execution = task is null ? null : await s.Tasks.GetExecutionAsync(task.TaskId, executionId, s.Aborted);
        if (task is null || execution is null)
        {
            return TypedResults.Json(new TaskNotFound(false, "Task execution with ID not found"), statusCode: StatusCodes.Status404NotFound);
        }

        var container = LogsContainer(s);
        var wantsStream = stream == true || s.Context.Request.Headers.Accept.Any(a => a?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true);
        if (wantsStream)
        {
            return TypedResults.ServerSentEvents(FollowAsync(s, container, execution, s.Aborted));
        }

        try
        {
            var chunk = await RunnerLogs.ReadAsync(container, execution.LogBlob, 0, s.Aborted);
            var props = chunk.NextOffset > 0 ? await container.GetBlobClient(execution.LogBlob).GetPropertiesAsync(cancellationToken: s.Aborted) : null;
            return TypedResults.Ok(new TaskLogs(
                true, task.TaskId, execution.ExecutionId, StripMarker(chunk.Text), chunk.Complete || ExecutionStatuses.IsFinal(execution.Status),
                props is null ? Date(execution.EndTime ?? execution.StartTime) : Date(props.Value.LastModified)));
        }
        catch (Azure.RequestFailedException ex)
        {
            return ErrorBodies.Conda(StatusCodes.Status500InternalServerError, "Failed to retrieve logs", ex.Message);
        }
    }

    /// <summary>The SSE stream of <see cref="ExecutionLogFollower.FollowAsync"/>: one event per increment, the last with <c>is_complete: true</c>.</summary>
    private static async IAsyncEnumerable<SseItem<TaskLogEvent>> FollowAsync(
        TaskServices s, Azure.Storage.Blobs.BlobContainerClient container, ExecutionRecord execution, [EnumeratorCancellation] CancellationToken aborted)
    {
        await foreach (var increment in ExecutionLogFollower.FollowAsync(s.Tasks, container, execution, s.Options.LogPollInterval, aborted))
        {
            yield return new SseItem<TaskLogEvent>(new TaskLogEvent(increment.Text, increment.Ended));
        }
    }

    public static async Task<IResult> GetStats([AsParameters] TaskServices s, [Microsoft.AspNetCore.Mvc.FromServices] TaskStats stats)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(stats);
        return TypedResults.Ok(await stats.ComputeAsync(s.VisibleNamespace, s.Aborted));
    }

    // --- shared helpers ---

    /// <summary>The task named by the route, if the caller may see it; else seed 003's 404 (or 403 for a change, <paramref name="action"/>).</summary>
    private static async Task<(TaskRecord? Task, IResult? Missing)> FindAsync(string id, TaskServices s, string? action = null)
    {
        var missing = TypedResults.Json(new TaskNotFound(false, $"Task with ID {id} not found"), statusCode: StatusCodes.Status404NotFound);
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var taskId) || taskId < 1)
        {
            return (null, missing);
        }

        var task = await s.Tasks.GetAsync(taskId, s.Aborted);
        if (task is not null && !NamespaceAccess.CanAct(s.Context.User, task.Namespace))
        {
            // Reads do not reveal another namespace's task; changes get seed 003's 403.
            return (null, action is null ? missing : NamespaceAccess.Forbidden(s.Context, $"You do not have permission to {action} this task"));
        }

        return task is null ? (null, missing) : (task, null);
    }

    /// <summary>
    /// Whether a run of the task is in progress: its current execution's <c>TaskRun</c> is still running. A current
    /// execution whose orchestration is gone or ended without recording (terminated through the management API)
    /// is repaired by <see cref="TaskRunRepair"/>: the execution becomes <c>abnormal</c> and the task leaves
    /// <c>running</c>, so it can be triggered, updated and deleted again.
    /// </summary>
    private static Task<bool> RunInProgressAsync(TaskRecord task, TaskServices s) =>
        s.Context.RequestServices.GetRequiredService<TaskRunRepair>().RunInProgressAsync(task, s.Aborted);

    internal static Azure.Storage.Blobs.BlobContainerClient LogsContainer(TaskServices s) =>
        s.Storage.Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(s.Names));

    /// <summary>The log without the runner's end-of-log marker line.</summary>
    internal static string StripMarker(string text) => ExecutionLogFollower.StripMarker(text);

    internal static string? Date(DateTimeOffset? at) => at is { } value ? EnvironmentHttp.Date(value) : null;

    internal static TaskView View(TaskRecord t, IReadOnlyList<string>? executions = null) => new(
        t.TaskId,
        t.Name,
        ScriptPath(t),
        t.Environment,
        t.Status,
        Date(t.CreatedAt)!,
        Date(t.UpdatedAt)!,
        t.Trigger.CronExpression,
        Date(t.NextRunAt),
        Date(t.LastRunAt),
        t.LastRunDuration,
        t.Requirements,
        t.Command,
        t.Priority,
        t.Namespace,
        JsonSerializer.Serialize(t.Trigger.Kind).Trim('"'),
        t.Trigger.DelaySeconds,
        t.Trigger.IntervalSeconds,
        t.Trigger.RunAt?.ToString("O", CultureInfo.InvariantCulture),
        t.Trigger.TimeZone,
        t.Retry.MaxRetries,
        t.Retry.RetryIntervalSeconds,
        t.Retry.ExponentialBackoff,
        t.TimeoutSeconds,
        t.Overlap,
        t.CallbackUrl,
        t.LastExecutionId,
        executions,
        t.Project);

    /// <summary>Where the task's command runs, relative to DATA_ROOT: its script directory, or its project (whose work_dir is resolved at run time).</summary>
    private static string ScriptPath(TaskRecord t) =>
        t.Project is { } project ? Core.Projects.ProjectRecord.DirectoryOf(project) + "/" : Path.Combine("scripts", t.TaskId.ToString(CultureInfo.InvariantCulture)) + "/";

    private static TaskListItem ListItem(TaskRecord t) => new(
        t.TaskId, t.Name, t.Status, t.Environment, Date(t.CreatedAt)!, t.Trigger.CronExpression, Date(t.NextRunAt), Date(t.LastRunAt), t.LastRunDuration,
        Date(t.CompletedAt), t.Priority, JsonSerializer.Serialize(t.Trigger.Kind).Trim('"'), t.Project);

    private static ExecutionView View(ExecutionRecord e, string? logs) => new(
        e.ExecutionId, e.Attempt, e.Trigger, Date(e.StartTime), Date(e.EndTime), e.Status, e.Duration, e.PeakMemoryMb, e.AvgMemoryMb, e.CpuSeconds, e.ExitCode, e.Error,
        e.CallbackStatus is { } callback ? new CallbackView(callback, e.CallbackAttempts, e.CallbackError, Date(e.CallbackAt)) : null,
        logs);

    private static async Task AuditAsync(TaskServices s, string operation, TaskRecord task, string outcome, object inputs, string? error = null)
    {
        try
        {
            await s.Audit.WriteAsync(
                new AuditRecord
                {
                    Id = $"task-{Guid.NewGuid():N}",
                    At = s.Time.GetUtcNow(),
                    Operation = "task." + operation,
                    Environment = task.Environment,
                    Who = s.Who,
                    ClientIp = s.ClientIp,
                    Inputs = JsonSerializer.Serialize(inputs, AuditJson),
                    Outcome = outcome,
                    Error = error,
                    OperationId = task.TaskId.ToString(CultureInfo.InvariantCulture),
                },
                CancellationToken.None);
        }
        catch (AuditWriteException)
        {
            // The change itself is made; the audit outage shows in the health check.
        }
    }
}
