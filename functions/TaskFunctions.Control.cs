using EnvFabric.Core.Runner;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Functions;

public static partial class TaskFunctions
{
    public static async Task<IResult> Trigger(string id, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (task, missing) = await FindAsync(id, s, "trigger");
        if (task is null)
        {
            return missing!;
        }

        if (task.Overlap != OverlapPolicies.Allow && await RunInProgressAsync(task, s))
        {
            return Refused("Task cannot be triggered", $"Cannot trigger a task with status: '{task.Status}'", task.Status);
        }

        var runId = await s.Starter.StartRunAsync(task.TaskId, ExecutionTriggers.Manual, s.Who, s.ClientIp, s.Aborted);
        await AuditAsync(s, "trigger", task, "succeeded", new { task_id = task.TaskId, run_id = runId });
        return TypedResults.Ok(new TaskControlResult(true, "Task triggered successfully", new TaskTransition(task.TaskId, task.Name, TaskStatuses.Running, task.Status)));
    }

    public static async Task<IResult> Stop(string id, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (task, missing) = await FindAsync(id, s, "stop");
        if (task is null)
        {
            return missing!;
        }

        if (task.Status == TaskStatuses.Stopped)
        {
            return Refused("Task cannot be stopped", $"Cannot stop a task with status: '{task.Status}'", task.Status);
        }

        await StopTaskAsync(task, s);
        await AuditAsync(s, "stop", task, "succeeded", new { task_id = task.TaskId, previous_status = task.Status });
        return TypedResults.Ok(new TaskControlResult(true, "Task stopped successfully", new TaskTransition(task.TaskId, task.Name, TaskStatuses.Stopped, task.Status)));
    }

    /// <summary>Stops a task (every dialect's stop): it leaves the scheduler, its running process is stopped, its schedule is woken to end.</summary>
    internal static async Task<TaskRecord?> StopTaskAsync(TaskRecord task, TaskServices s)
    {
        var updated = await s.Tasks.MutateAsync(
            task.TaskId,
            t => t with { Status = TaskStatuses.Stopped, NextRunAt = null, ScheduleGeneration = t.ScheduleGeneration + 1 },
            s.Aborted);
        if (updated?.CurrentJobId is { } job)
        {
            await s.Control.SendAsync(job, RunnerControlAction.Stop, s.Aborted);
        }

        await s.Starter.SignalScheduleAsync(task.TaskId, s.Aborted);
        return updated;
    }

    public static async Task<IResult> Pause(string id, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (task, missing) = await FindAsync(id, s, "pause");
        if (task is null)
        {
            return missing!;
        }

        if (task.Status is not (TaskStatuses.Scheduled or TaskStatuses.Running))
        {
            return Refused("Task cannot be paused", $"Cannot pause a task with status: '{task.Status}'", task.Status);
        }

        var updated = await s.Tasks.MutateAsync(
            task.TaskId,
            t => t with { Status = TaskStatuses.Paused, ScheduleGeneration = t.ScheduleGeneration + 1 },
            s.Aborted);
        if (updated?.CurrentJobId is { } job)
        {
            // SIGSTOP to the run's process group; its log stands still until resume.
            await s.Control.SendAsync(job, RunnerControlAction.Pause, s.Aborted);
        }

        await s.Starter.SignalScheduleAsync(task.TaskId, s.Aborted);
        await AuditAsync(s, "pause", task, "succeeded", new { task_id = task.TaskId, previous_status = task.Status });
        return TypedResults.Ok(new TaskControlResult(true, "Task paused successfully", new TaskTransition(task.TaskId, task.Name, TaskStatuses.Paused, task.Status)));
    }

    public static async Task<IResult> Resume(string id, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (task, missing) = await FindAsync(id, s, "resume");
        if (task is null)
        {
            return missing!;
        }

        if (task.Status != TaskStatuses.Paused)
        {
            return Refused("Task is not paused", $"Cannot resume a task with status: '{task.Status}'", task.Status);
        }

        var updated = await s.Tasks.MutateAsync(
            task.TaskId,
            t => t with
            {
                Status = t.CurrentJobId is not null ? TaskStatuses.Running : TaskStatuses.Scheduled,
                ScheduleGeneration = t.ScheduleGeneration + 1,
            },
            s.Aborted);
        if (updated?.CurrentJobId is { } job)
        {
            await s.Control.SendAsync(job, RunnerControlAction.Resume, s.Aborted);
        }

        if (updated is not null)
        {
            await s.Starter.EnsureScheduleAsync(updated, s.Aborted);
        }

        await AuditAsync(s, "resume", task, "succeeded", new { task_id = task.TaskId });
        return TypedResults.Ok(new TaskControlResult(true, "Task resumed successfully", new TaskTransition(task.TaskId, task.Name, updated?.Status ?? TaskStatuses.Scheduled, task.Status)));
    }

    public static async Task<IResult> DeleteTask(string id, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (task, missing) = await FindAsync(id, s, "delete");
        if (task is null)
        {
            return missing!;
        }

        if (await RunInProgressAsync(task, s))
        {
            return Refused("Task cannot be deleted", "Cannot delete a task that is currently running", TaskStatuses.Running);
        }

        await s.Starter.EndScheduleAsync(task.TaskId, s.Aborted);
        var executions = await s.Tasks.ListExecutionsAsync(task.TaskId, s.Aborted);
        var logs = LogsContainer(s);
        foreach (var execution in executions)
        {
            await logs.GetBlobClient(execution.LogBlob).DeleteIfExistsAsync(cancellationToken: s.Aborted);
        }

        await s.Tasks.DeleteExecutionsAsync(task.TaskId, s.Aborted);
        await s.Tasks.DeleteAsync(task.TaskId, s.Aborted);
        await s.Tasks.ReleaseNameAsync(task.Name, task.TaskId, s.Aborted);
        var directory = s.ScriptDirectory(task.TaskId);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        await AuditAsync(s, "delete", task, "succeeded", new { task_id = task.TaskId, task_name = task.Name, executions = executions.Count });
        return TypedResults.Ok(new TaskDeleted(true, "Task deleted successfully", task.TaskId));
    }

    private static Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<TaskRefused> Refused(string message, string error, string currentStatus) =>
        TypedResults.Json(new TaskRefused(false, message, error, currentStatus), statusCode: StatusCodes.Status400BadRequest);

}
