using EnvFabric.Core.Tasks;
using Microsoft.DurableTask.Client;

namespace EnvFabric.Orchestrations.Tasks;

/// <summary>
/// Repairs an execution whose <c>TaskRun</c> ended (terminated, failed, purged) without recording its result: the
/// execution becomes <c>abnormal</c>, the task leaves <c>running</c> and the concurrency slot is given back. The
/// task API does this for the current execution before a trigger, update or delete; the consistency repair does it
/// for every stuck execution.
/// </summary>
public sealed class TaskRunRepair(ITaskRepository tasks, TaskSlots slots, DurableTaskClient client, TimeProvider time)
{
    /// <summary>Whether the orchestration of <paramref name="execution"/> can still record it (pending, running or suspended).</summary>
    public async Task<(bool Live, OrchestrationMetadata? Run)> RunStateAsync(ExecutionRecord execution, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(execution);
        var run = string.IsNullOrEmpty(execution.RunId) ? null : await client.GetInstanceAsync(execution.RunId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        return (run is { IsRunning: true } or { RuntimeStatus: OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Suspended }, run);
    }

    /// <summary>
    /// Whether a run of the task is in progress: its current execution's <c>TaskRun</c> is still running. A current
    /// execution whose orchestration is gone or ended without recording is repaired (<see cref="RepairAsync"/>).
    /// </summary>
    public async Task<bool> RunInProgressAsync(TaskRecord task, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.CurrentExecutionId is not { } current)
        {
            return task.Status == TaskStatuses.Running;
        }

        var execution = await tasks.GetExecutionAsync(task.TaskId, current, cancellationToken).ConfigureAwait(false);
        if (execution is not null && (await RunStateAsync(execution, cancellationToken).ConfigureAwait(false)).Live)
        {
            return true;
        }

        await RepairAsync(task.TaskId, current, cancellationToken).ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// Marks the execution <c>abnormal</c> (if it has not ended) and frees the task if it is still its current one,
    /// unless its run is live after all; returns false then. The slot it may hold is released.
    /// </summary>
    public async Task<bool> RepairAsync(long taskId, string executionId, CancellationToken cancellationToken = default)
    {
        var execution = await tasks.GetExecutionAsync(taskId, executionId, cancellationToken).ConfigureAwait(false);
        if (execution is not null)
        {
            var (live, run) = await RunStateAsync(execution, cancellationToken).ConfigureAwait(false);
            if (live)
            {
                return false;
            }

            if (!ExecutionStatuses.IsFinal(execution.Status))
            {
                await tasks.UpsertExecutionAsync(
                    execution with { Status = ExecutionStatuses.Abnormal, EndTime = time.GetUtcNow(), Error = $"its run {execution.RunId} ended without recording the result ({run?.RuntimeStatus.ToString() ?? "gone"})" },
                    cancellationToken).ConfigureAwait(false);
            }
        }

        await tasks.MutateAsync(
            taskId,
            t => t.CurrentExecutionId != executionId ? null : t with
            {
                CurrentExecutionId = null,
                CurrentJobId = null,
                Status = t.Status != TaskStatuses.Running ? t.Status : t.Trigger.Recurring ? TaskStatuses.Scheduled : TaskStatuses.Failed,
            },
            cancellationToken).ConfigureAwait(false);

        // Queued runs re-ask for a slot every few seconds, so none needs waking here.
        await slots.ReleaseAsync(executionId, 0, execution?.Pool, cancellationToken).ConfigureAwait(false);
        return true;
    }
}
