using System.Globalization;
using EnvFabric.Core.Tasks;
using EnvFabric.Core.V2;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;
using EnvFabric.Functions.Tasks;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>
/// Seed 002's tasks under <c>/v2/tasks</c>: submit (a template rendered into an engine task), list, detail,
/// status, logs (a text stream that follows a running instance), stop and tags. A v2 task is a task of the engine,
/// the same row and runs as <c>/api/tasks</c>: <c>{uuid}</c> is the task's uuid, or its task id when no uuid
/// matches. A <c>user</c> key sees and touches only its namespace's tasks; others are 1002.
/// </summary>
public static class V2TaskFunctions
{
    /// <summary>The page size of a list that names none.</summary>
    public const int DefaultPageSize = 20;

    /// <summary>The largest page size.</summary>
    public const int MaxPageSize = 100;

    public static RouteGroupBuilder MapV2TaskFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/v2/tasks").WithTags("v2 tasks").AddEndpointFilter(Extensions.EnvironmentReadiness.Filter);
        group.MapPost("", SubmitTask).WithSummary("Submit a task: render a template with extra and value, then run it now or on its schedule");
        group.MapGet("", ListTasks).WithSummary("Tasks, a page at a time, optionally of one status");
        group.MapGet("/{uuid}", GetTask).WithSummary("A task");
        group.MapGet("/{uuid}/status", GetStatus).WithSummary("A task's status");
        group.MapGet("/{uuid}/logs", GetLogs).WithSummary("The log of the task's current (else last) instance as text, followed while it runs").DisableRequestTimeout();
        group.MapDelete("/{uuid}", StopTask).WithSummary("Stop a task and its running instance (the task is kept)");
        group.MapPost("/{uuid}/tags", UpdateTags).WithSummary("Replace a task's tags");
        return group;
    }

    public static async Task<IResult> SubmitTask(V2TaskBody? body, [AsParameters] TaskServices s, [FromServices] V2TaskSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(submission);
        if (body is null)
        {
            return V2Results.Invalid("a JSON body is required");
        }

        var outcome = await submission.SubmitAsync(body, s.Context.User, s.Who, s.ClientIp, s.Aborted);
        switch (outcome.Kind)
        {
            case V2SubmitKind.Submitted:
                var task = outcome.Task!;
                await s.Audit.WriteQuietlyAsync(
                    s.Context,
                    s.Time,
                    "task.create",
                    task.TaskId.ToString(CultureInfo.InvariantCulture),
                    new
                    {
                        dialect = "v2",
                        task_id = task.TaskId,
                        uuid = task.Uuid,
                        name = task.Name,
                        @namespace = task.Namespace,
                        template = task.Template,
                        command = task.Command,
                        pool = task.Pool,
                        prior = task.Prior,
                        quotas = task.Quotas,
                        tags = TaskTags.Format(task.Tags),
                        schedule = task.Trigger.CronExpression,
                        times = task.MaxRuns,
                        run_id = outcome.RunId,
                    },
                    task.Environment);
                return V2Results.Ok(new V2Submitted(task.Uuid!, outcome.RunId), StatusCodes.Status201Created);
            case V2SubmitKind.Forbidden:
                return ErrorBodies.V2(StatusCodes.Status403Forbidden, V2Codes.InvalidArgument, outcome.Message!);
            case V2SubmitKind.PoolNotFound:
                return ErrorBodies.V2(StatusCodes.Status404NotFound, V2Codes.QueueNotFound, outcome.Message!);
            case V2SubmitKind.InsufficientResources:
                return ErrorBodies.V2(StatusCodes.Status400BadRequest, V2Codes.InsufficientResources, outcome.Message!);
            default:
                return V2Results.Invalid(outcome.Message!);
        }
    }

    public static async Task<IResult> ListTasks(string? status, string? page, string? size, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (V2Results.ReadWholeNumber(page, 1, int.MaxValue, 1) is not { } pageNumber || V2Results.ReadWholeNumber(size, 1, MaxPageSize, DefaultPageSize) is not { } pageSize)
        {
            return V2Results.Invalid($"page must be a whole number from 1 and size from 1 to {MaxPageSize}");
        }

        if (!string.IsNullOrEmpty(status) && !TaskStatuses.All.Contains(status, StringComparer.Ordinal))
        {
            return V2Results.Invalid($"status '{status}' is not a task status ({string.Join(", ", TaskStatuses.All)})");
        }

        if (string.IsNullOrEmpty(status))
        {
            var (items, total) = await s.Tasks.ListPageAsync(pageNumber, pageSize, s.VisibleNamespace, withTotal: true, s.Aborted);
            return V2Results.Ok(new V2TaskPage(total ?? 0, items.Select(View).ToList()));
        }

        // The table has no index by status: stream the namespace's tasks, filter, and page in memory.
        var matching = new List<TaskRecord>();
        await foreach (var task in s.Tasks.ListAsync(s.VisibleNamespace, s.Aborted))
        {
            if (task.Status == status)
            {
                matching.Add(task);
            }
        }

        var pageItems = matching.Skip((int)Math.Min(int.MaxValue, (long)(pageNumber - 1) * pageSize)).Take(pageSize).Select(View).ToList();
        return V2Results.Ok(new V2TaskPage(matching.Count, pageItems));
    }

    public static async Task<IResult> GetTask(string uuid, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return await FindAsync(uuid, s) is { } task ? V2Results.Ok(View(task)) : NotFound(uuid);
    }

    public static async Task<IResult> GetStatus(string uuid, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return await FindAsync(uuid, s) is { } task ? V2Results.Ok(new V2TaskStatus(task.Status)) : NotFound(uuid);
    }

    public static async Task<IResult> GetLogs(string uuid, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (await FindAsync(uuid, s) is not { } task)
        {
            return NotFound(uuid);
        }

        var execution = (task.CurrentExecutionId ?? task.LastExecutionId) is { } executionId
            ? await s.Tasks.GetExecutionAsync(task.TaskId, executionId, s.Aborted)
            : null;
        const string contentType = "text/plain; charset=utf-8";
        if (execution is null)
        {
            return TypedResults.Text("", contentType);
        }

        var container = TaskFunctions.LogsContainer(s);
        return TypedResults.Stream(
            async body =>
            {
                await foreach (var (text, _) in ExecutionLogFollower.FollowAsync(s.Tasks, container, execution, s.Options.LogPollInterval, s.Aborted))
                {
                    if (text.Length > 0)
                    {
                        await body.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text), s.Aborted);
                    }

                    await body.FlushAsync(s.Aborted);
                }
            },
            contentType);
    }

    public static async Task<IResult> StopTask(string uuid, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (await FindAsync(uuid, s) is not { } task)
        {
            return NotFound(uuid);
        }

        if (task.Status != TaskStatuses.Stopped)
        {
            await TaskFunctions.StopTaskAsync(task, s);
        }

        await s.Audit.WriteQuietlyAsync(
            s.Context, s.Time, "task.stop", task.TaskId.ToString(CultureInfo.InvariantCulture), new { dialect = "v2", task_id = task.TaskId, uuid = UuidOf(task), previous_status = task.Status }, task.Environment);
        return V2Results.Ok<object?>(null);
    }

    public static async Task<IResult> UpdateTags(string uuid, V2TagsBody? body, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (await FindAsync(uuid, s) is not { } task)
        {
            return NotFound(uuid);
        }

        if (body?.Tags is null)
        {
            return V2Results.Invalid("tags is required: \"k=v,k=v\" or an array of \"k=v\" (an empty string removes them all)");
        }

        var (tags, problem) = V2TaskSubmission.ReadTags(body.Tags);
        if (problem is not null)
        {
            return V2Results.Invalid(problem);
        }

        var now = s.Time.GetUtcNow();
        var updated = await s.Tasks.MutateAsync(task.TaskId, t => t with { Tags = tags!, UpdatedAt = now }, s.Aborted);
        if (updated is null)
        {
            return NotFound(uuid);
        }

        await s.Audit.WriteQuietlyAsync(
            s.Context, s.Time, "task.update", task.TaskId.ToString(CultureInfo.InvariantCulture), new { dialect = "v2", task_id = task.TaskId, uuid = UuidOf(task), tags = TaskTags.Format(tags!) }, task.Environment);
        return V2Results.Ok<object?>(null);
    }

    /// <summary>The task <paramref name="uuid"/> names (its uuid, else its task id) if the caller may see it; null when missing or in another namespace (also <c>task_id</c> of <c>/v2/instances</c>).</summary>
    internal static async Task<TaskRecord?> FindAsync(string uuid, TaskServices s)
    {
        var taskId = await s.Tasks.FindByUuidAsync(uuid, s.Aborted);
        if (taskId is null && long.TryParse(uuid, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id >= 1)
        {
            taskId = id;
        }

        var task = taskId is { } found ? await s.Tasks.GetAsync(found, s.Aborted) : null;
        return task is not null && NamespaceAccess.CanAct(s.Context.User, task.Namespace) ? task : null;
    }

    private static Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<V2Error> NotFound(string uuid) =>
        ErrorBodies.V2(StatusCodes.Status404NotFound, V2Codes.TaskNotFound, $"task '{uuid}' not found");

    /// <summary>The task's uuid; a task made through <c>/api/tasks</c> has none and is named by its id.</summary>
    private static string UuidOf(TaskRecord t) => t.Uuid ?? t.TaskId.ToString(CultureInfo.InvariantCulture);

    internal static V2TaskView View(TaskRecord t) => new(
        UuidOf(t),
        t.TaskId,
        t.Template,
        t.Namespace,
        t.Name,
        t.Project,
        t.Extra,
        t.Value,
        t.TimeoutSeconds?.ToString(CultureInfo.InvariantCulture),
        QuotaParser.Format(t.Quotas),
        t.Pool,
        TaskTags.Format(t.Tags),
        t.CallbackUrl,
        t.Status,
        t.CreatedBy,
        t.CreatedAt,
        t.LastRunAt,
        t.CompletedAt ?? (t.Status != TaskStatuses.Running && t.LastRunAt is { } start && t.LastRunDuration is { } seconds ? start.AddSeconds(seconds) : null),
        t.UpdatedAt,
        t.CurrentExecutionId ?? t.LastExecutionId,
        t.EffectivePriority,
        t.Adjustable,
        t.Trigger.CronExpression,
        t.MaxRuns);
}
