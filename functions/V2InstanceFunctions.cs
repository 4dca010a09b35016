using System.Globalization;
using System.Text;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Tasks;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>
/// Seed 002's instances under <c>/v2/instances</c>: the executions of the tasks (the same ones <c>/api/tasks</c>
/// shows), listed by task and status, their detail, status, a log stream that follows a running one, and their
/// tags. A <c>user</c> key sees only its namespace's instances; another namespace's instance is not found (1003).
/// </summary>
public static class V2InstanceFunctions
{
    /// <summary>The most instances one page holds.</summary>
    public const int MaxPageSize = 100;

    /// <summary>The page size without <c>size</c>.</summary>
    public const int DefaultPageSize = 20;

    /// <summary>The most tags an instance holds.</summary>
    public const int MaxTags = 32;

    /// <summary>The longest tag.</summary>
    public const int MaxTagLength = 64;

    private static readonly string[] Statuses =
    [
        ExecutionStatuses.Queued, ExecutionStatuses.Running, ExecutionStatuses.Completed, ExecutionStatuses.Failed,
        ExecutionStatuses.Timeout, ExecutionStatuses.Cancelled, ExecutionStatuses.Abnormal, ExecutionStatuses.Skipped,
    ];

    public static RouteGroupBuilder MapV2InstanceFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/v2/instances").WithTags("v2 instances").AddEndpointFilter(Extensions.EnvironmentReadiness.Filter);
        group.MapGet("", ListInstances).WithSummary("Instances of a task (task_id: its uuid or id) or, without one, the recent instances of the key's namespace; newest first, paged");
        group.MapGet("/{runid}", GetInstance).WithSummary("An instance");
        group.MapGet("/{runid}/status", GetInstanceStatus).WithSummary("An instance's status");
        group.MapGet("/{runid}/logs", GetInstanceLogs).WithSummary("An instance's log as a text stream that follows a running instance and ends when it ends").DisableRequestTimeout();
        group.MapPost("/{runid}/tags", SetInstanceTags).WithSummary("Replace an instance's tags");
        return group;
    }

    public static async Task<IResult> ListInstances(
        [FromQuery(Name = "task_id")] string? taskId, string? status, string? page, string? size, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (status is { Length: > 0 } && !Statuses.Contains(status, StringComparer.Ordinal))
        {
            return V2Results.Invalid($"status '{status}' is not an instance status; use one of {string.Join(", ", Statuses)}");
        }

        if (V2Results.ReadWholeNumber(page, 1, int.MaxValue, 1) is not { } pageNumber)
        {
            return V2Results.Invalid($"page '{page}' is not valid: a whole number from 1");
        }

        if (V2Results.ReadWholeNumber(size, 1, MaxPageSize, DefaultPageSize) is not { } pageSize)
        {
            return V2Results.Invalid($"size '{size}' is not valid: a whole number from 1 to {MaxPageSize}");
        }

        var tasks = new Dictionary<long, TaskRecord>();
        var executions = new List<ExecutionRecord>();
        if (taskId is { Length: > 0 })
        {
            if (await V2TaskFunctions.FindAsync(taskId, s) is not { } task)
            {
                return ErrorBodies.V2(StatusCodes.Status404NotFound, V2Codes.TaskNotFound, $"task '{taskId}' not found");
            }

            tasks[task.TaskId] = task;
            executions.AddRange(await s.Tasks.ListExecutionsAsync(task.TaskId, s.Aborted));
        }
        else
        {
            await foreach (var task in s.Tasks.ListAsync(s.VisibleNamespace, s.Aborted))
            {
                tasks[task.TaskId] = task;
            }

            await foreach (var e in s.Tasks.ListExecutionsSinceAsync(s.Time.GetUtcNow().AddDays(-s.Options.HistoryDays), s.Aborted))
            {
                if (tasks.ContainsKey(e.TaskId))
                {
                    executions.Add(e);
                }
            }
        }

        var matching = executions
            .Where(e => status is not { Length: > 0 } || e.Status == status)
            .OrderByDescending(e => e.ExecutionId, StringComparer.Ordinal)
            .ToList();
        var items = matching
            .Skip((int)Math.Min(int.MaxValue, ((long)pageNumber - 1) * pageSize))
            .Take(pageSize)
            .Select(e => View(e, tasks[e.TaskId]))
            .ToList();
        return V2Results.Ok(new V2InstancePage(matching.Count, items));
    }

    public static async Task<IResult> GetInstance(string runid, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (execution, task) = await FindAsync(runid, s);
        return execution is null ? NotFound(runid) : V2Results.Ok(View(execution, task!));
    }

    public static async Task<IResult> GetInstanceStatus(string runid, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (execution, _) = await FindAsync(runid, s);
        return execution is null ? NotFound(runid) : V2Results.Ok(new V2InstanceStatus(execution.Status));
    }

    public static async Task<IResult> GetInstanceLogs(string runid, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (execution, _) = await FindAsync(runid, s);
        if (execution is null)
        {
            return NotFound(runid);
        }

        var container = s.Storage.Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(s.Names));
        var tasks = s.Tasks;
        var poll = s.Options.LogPollInterval;
        return Results.Stream(
            async body =>
            {
                var aborted = s.Aborted;
                try
                {
                    await foreach (var increment in ExecutionLogFollower.FollowAsync(tasks, container, execution, poll, aborted))
                    {
                        if (increment.Text.Length > 0)
                        {
                            await body.WriteAsync(Encoding.UTF8.GetBytes(increment.Text), aborted);
                            await body.FlushAsync(aborted);
                        }
                    }
                }
                catch (OperationCanceledException) when (aborted.IsCancellationRequested)
                {
                    // The client went away.
                }
            },
            "text/plain; charset=utf-8");
    }

    public static async Task<IResult> SetInstanceTags(string runid, V2InstanceTagsBody? body, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (execution, task) = await FindAsync(runid, s);
        if (execution is null)
        {
            return NotFound(runid);
        }

        if (body?.Tags is not { } tags)
        {
            return V2Results.Invalid("a JSON body {\"tags\": [\"tag1\", \"tag2\"]} is required");
        }

        if (tags.Count is 0 or > MaxTags)
        {
            return V2Results.Invalid($"tags must hold 1 to {MaxTags} tags, not {tags.Count}");
        }

        foreach (var tag in tags)
        {
            if (!IsValidTag(tag))
            {
                return V2Results.Invalid($"tag '{tag}' is not valid: 1 to {MaxTagLength} letters, digits or '._-=:/'");
            }
        }

        var replaced = tags.Select(t => t!).Distinct(StringComparer.Ordinal).ToList();
        if (!await s.Tasks.SetExecutionTagsAsync(execution.TaskId, execution.ExecutionId, replaced, s.Aborted))
        {
            return NotFound(runid);
        }

        await s.Audit.WriteQuietlyAsync(
            s.Context, s.Time, "instance.tags", execution.ExecutionId,
            new { run_id = execution.ExecutionId, task_id = execution.TaskId, tags = replaced, previous = execution.Tags },
            environment: task!.Environment);
        return V2Results.Ok<object?>(null);
    }

    /// <summary>Whether <paramref name="tag"/> is 1 to 64 ASCII letters, digits or <c>._-=:/</c>.</summary>
    public static bool IsValidTag(string? tag) =>
        tag is { Length: >= 1 and <= MaxTagLength } && tag.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '=' or ':' or '/');

    /// <summary>The execution named <paramref name="runid"/> and its task, if the caller may see them.</summary>
    private static async Task<(ExecutionRecord? Execution, TaskRecord? Task)> FindAsync(string runid, TaskServices s)
    {
        var execution = await s.Tasks.FindExecutionAsync(runid, s.Aborted);
        var task = execution is null ? null : await s.Tasks.GetAsync(execution.TaskId, s.Aborted);
        return task is not null && NamespaceAccess.CanAct(s.Context.User, task.Namespace) ? (execution, task) : (null, null);
    }

    private static JsonHttpResult<V2Error> NotFound(string runid) =>
        ErrorBodies.V2(StatusCodes.Status404NotFound, V2Codes.InstanceNotFound, $"instance '{runid}' not found");

    private static V2InstanceView View(ExecutionRecord e, TaskRecord task) => new(
        e.ExecutionId,
        e.TaskId,
        task.Uuid ?? task.TaskId.ToString(CultureInfo.InvariantCulture),
        task.Name,
        e.Status,
        e.Attempt,
        e.Trigger,
        e.Pool ?? task.Pool,
        e.QueuedAt,
        e.StartTime,
        e.EndTime,
        e.ExitCode,
        e.Duration,
        e.PeakMemoryMb,
        e.AvgMemoryMb,
        e.CpuSeconds,
        e.Error,
        e.RunnerId,
        e.Tags,
        e.CallbackStatus is { } callback ? new V2CallbackView(callback, e.CallbackAttempts, e.CallbackError, e.CallbackAt) : null);
}
