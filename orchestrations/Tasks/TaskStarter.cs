using EnvFabric.Activities.Tasks;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Tasks;
using EnvFabric.Durable.Client;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;

namespace EnvFabric.Orchestrations.Tasks;

/// <summary>Starts and signals the task orchestrations for the HTTP functions, with the deployment's settings.</summary>
public sealed class TaskStarter(DurableTaskClient client, IOptions<EnvFabricOptions> options, TimeProvider time)
{
    /// <summary>The settings every run starts with.</summary>
    public TaskRunSettings Settings => new(MaxConcurrent: options.Value.MaxConcurrentTasks);

    /// <summary>Starts a run now (a manual trigger, or a task with no trigger); returns its instance id.</summary>
    public Task<string> StartRunAsync(long taskId, string trigger, string who, string clientIp, CancellationToken cancellationToken = default) =>
        StartRunAsync(taskId, trigger, who, clientIp, firstExecutionId: null, cancellationToken);

    /// <summary>Starts a run now whose first execution gets <paramref name="firstExecutionId"/> (null = made by the run); returns its instance id.</summary>
    public async Task<string> StartRunAsync(long taskId, string trigger, string who, string clientIp, string? firstExecutionId, CancellationToken cancellationToken)
    {
        var id = TaskInstanceIds.ManualRun(taskId);
        await client.ScheduleNewOrchestrationInstanceAsync(
            TaskRunOrchestrator.Name, new TaskRunInput(taskId, trigger, time.GetUtcNow(), Settings, who, clientIp, firstExecutionId), new StartOrchestrationOptions(id), cancellationToken).ConfigureAwait(false);
        return id;
    }

    /// <summary>
    /// Makes sure the task's schedule runs and re-reads the task: starts it when it is not running, else wakes it
    /// with <see cref="TaskEvents.ScheduleChanged"/>. Tasks that run once at creation (no trigger) have none.
    /// </summary>
    public async Task EnsureScheduleAsync(TaskRecord task, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.Trigger.Kind == TriggerKind.Now)
        {
            return;
        }

        var id = TaskInstanceIds.Schedule(task.TaskId);
        if (!await client.TryScheduleNewAsync(ScheduleOrchestrator.Name, id, new ScheduleInput(task.TaskId, null, Settings), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            await client.RaiseEventAsync(id, TaskEvents.ScheduleChanged, "changed", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Wakes the schedule (pause, resume, stop); it ends on its own when the task is stopped or gone.</summary>
    public async Task SignalScheduleAsync(long taskId, CancellationToken cancellationToken = default)
    {
        var id = TaskInstanceIds.Schedule(taskId);
        var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (instance is { IsRunning: true } or { RuntimeStatus: OrchestrationRuntimeStatus.Pending })
        {
            await client.RaiseEventAsync(id, TaskEvents.ScheduleChanged, "changed", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ends the schedule at once (the task is being deleted).</summary>
    public async Task EndScheduleAsync(long taskId, CancellationToken cancellationToken = default)
    {
        var id = TaskInstanceIds.Schedule(taskId);
        var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (instance is { IsRunning: true } or { RuntimeStatus: OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Suspended })
        {
            await client.TerminateInstanceAsync(id, "task deleted", cancellationToken).ConfigureAwait(false);
        }
    }
}
