using System.Globalization;
using EnvFabric.Activities.Tasks;
using EnvFabric.Core.Tasks;
using Microsoft.DurableTask.Client;

namespace EnvFabric.Orchestrations.Tasks;

/// <summary>What <see cref="TaskScheduleSync.SyncAsync"/> did.</summary>
/// <param name="Ensured">Tasks whose schedule was started, or woken to re-read the task when it ran already.</param>
/// <param name="Ended">Schedules terminated because their task no longer exists.</param>
public sealed record ScheduleSyncResult(int Ensured, int Ended);

/// <summary>
/// Brings the <c>Schedule</c> orchestrations in line with the tasks table after the tables were replaced (a restore):
/// every task that waits for a timed run (any trigger but <c>now</c>, status <c>scheduled</c> or <c>running</c>) gets
/// its schedule; paused tasks get theirs on resume, stopped and finished ones need none; a running schedule whose task
/// is gone is terminated.
/// </summary>
public sealed class TaskScheduleSync(DurableTaskClient client, ITaskRepository tasks, TaskStarter starter)
{
    private const string SchedulePrefix = "schedule-";

    /// <summary>Starts the schedules the tasks need and ends those without a task.</summary>
    public async Task<ScheduleSyncResult> SyncAsync(CancellationToken cancellationToken = default)
    {
        var existing = new HashSet<long>();
        var ensured = 0;
        await foreach (var task in tasks.ListAsync(null, cancellationToken).ConfigureAwait(false))
        {
            existing.Add(task.TaskId);
            if (task.Trigger.Kind != TriggerKind.Now && task.Status is TaskStatuses.Scheduled or TaskStatuses.Running)
            {
                await starter.EnsureScheduleAsync(task, cancellationToken).ConfigureAwait(false);
                ensured++;
            }
        }

        var orphans = new List<string>();
        var query = new OrchestrationQuery
        {
            InstanceIdPrefix = SchedulePrefix,
            Statuses = [OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Suspended],
        };
        await foreach (var instance in client.GetAllInstancesAsync(query).ConfigureAwait(false))
        {
            if (long.TryParse(instance.InstanceId.AsSpan(SchedulePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var taskId)
                && instance.InstanceId == TaskInstanceIds.Schedule(taskId)
                && !existing.Contains(taskId))
            {
                orphans.Add(instance.InstanceId);
            }
        }

        foreach (var id in orphans)
        {
            await client.TerminateInstanceAsync(id, "task not in the restored tables", cancellationToken).ConfigureAwait(false);
        }

        return new ScheduleSyncResult(ensured, orphans.Count);
    }
}
