using EnvFabric.Core.Tasks;
using EnvFabric.Durable.Client;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EnvFabric.Activities.Tasks;

/// <summary>Orchestrator names the activities start.</summary>
public static class TaskOrchestratorNames
{
    public const string TaskRun = "TaskRun";

    public const string Schedule = "Schedule";

    public const string Callback = "Callback";
}

/// <summary>
/// Reads the task and decides the schedule's next step: end (deleted, stopped, one-shot done, or its
/// <see cref="TaskRecord.MaxRuns"/> runs made), wait while paused, or wait until the next due time (recorded as the
/// task's <c>next_run_time</c>).
/// </summary>
public sealed class PlanScheduleStepActivity(ITaskRepository tasks, TimeProvider time) : TaskActivity<SchedulePlanRequest, SchedulePlan>
{
    public const string Name = "PlanScheduleStep";

    public override async Task<SchedulePlan> RunAsync(TaskActivityContext context, SchedulePlanRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var task = await tasks.GetAsync(input.TaskId, CancellationToken.None).ConfigureAwait(false);
        if (task is null || task.Status == TaskStatuses.Stopped || task.Trigger.Kind == TriggerKind.Now)
        {
            return new SchedulePlan("end", null, task?.ScheduleGeneration ?? 0, "");
        }

        var trigger = ExecutionTriggers.For(task.Trigger.Kind);
        if (task.RunsExhausted)
        {
            // Seed 002's times: the last run may still be going; its finish ends the task like a one-shot's.
            if (task.NextRunAt is not null)
            {
                await tasks.MutateAsync(input.TaskId, t => t.NextRunAt is null ? null : t with { NextRunAt = null }, CancellationToken.None).ConfigureAwait(false);
            }

            return new SchedulePlan("end", null, task.ScheduleGeneration, trigger);
        }

        if (task.Status == TaskStatuses.Paused)
        {
            return new SchedulePlan("paused", null, task.ScheduleGeneration, trigger);
        }

        var now = time.GetUtcNow();
        var due = input.PreviousDue is { } previous
            ? task.Trigger.NextDue(previous, now)
            : task.Trigger.FirstDue(task.ScheduleAnchor ?? task.CreatedAt);
        if (task.NextRunAt != due)
        {
            await tasks.MutateAsync(input.TaskId, t => t.NextRunAt == due ? null : t with { NextRunAt = due }, CancellationToken.None).ConfigureAwait(false);
        }

        return due is null
            ? new SchedulePlan("end", null, task.ScheduleGeneration, trigger)
            : new SchedulePlan("wait", due, task.ScheduleGeneration, trigger);
    }
}

/// <summary>
/// Starts the <c>TaskRun</c> of a due occurrence, unless the task changed since the plan (then the schedule
/// plans again). The run's instance id is derived from the due time, so a repeated start starts nothing. A task
/// with <see cref="TaskRecord.MaxRuns"/> counts the run in the same write that checks the task, keyed by the due
/// time (<see cref="TaskRecord.LastCountedDue"/>), so a replayed start counts it once; one past the limit starts nothing.
/// </summary>
public sealed class StartScheduledRunActivity(ITaskRepository tasks, DurableTaskClient client) : TaskActivity<StartScheduledRunRequest, StartScheduledRunResponse>
{
    public const string Name = "StartScheduledRun";

    public override async Task<StartScheduledRunResponse> RunAsync(TaskActivityContext context, StartScheduledRunRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var task = await tasks.GetAsync(input.TaskId, CancellationToken.None).ConfigureAwait(false);
        if (Refused(task, input))
        {
            return new StartScheduledRunResponse("replan", null);
        }

        if (task!.MaxRuns is not null)
        {
            var counted = false;
            task = await tasks.MutateAsync(
                input.TaskId,
                t =>
                {
                    counted = false;
                    if (Refused(t, input) || t.LastCountedDue == input.Due || t.RunsExhausted)
                    {
                        return null;
                    }

                    counted = true;
                    return t with { RunsStarted = t.RunsStarted + 1, LastCountedDue = input.Due };
                },
                CancellationToken.None).ConfigureAwait(false);
            if (!counted && (Refused(task, input) || task!.LastCountedDue != input.Due))
            {
                // Changed meanwhile, or the limit was reached by an earlier occurrence: the plan decides again (and ends).
                return new StartScheduledRunResponse("replan", null);
            }
        }

        var id = TaskInstanceIds.ScheduledRun(input.TaskId, input.Due);
        await client.TryScheduleNewAsync(
            TaskOrchestratorNames.TaskRun, id, new TaskRunInput(input.TaskId, input.Trigger, input.Due, input.Settings), cancellationToken: CancellationToken.None).ConfigureAwait(false);
        return new StartScheduledRunResponse("started", id);
    }

    private static bool Refused(TaskRecord? task, StartScheduledRunRequest input) =>
        task is null || task.ScheduleGeneration != input.Generation || task.Status is TaskStatuses.Paused or TaskStatuses.Stopped;
}

/// <summary>Registers the task activities with the durable worker.</summary>
public static class TaskActivityRegistration
{
    public static Durable.IDurableTaskBuilder AddTaskActivities(this Durable.IDurableTaskBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // A host that configures variables registers its own; without one, runs get none.
        builder.Services.TryAddSingleton<IRunVariables, NoRunVariables>();
        return builder
            .AddActivity<PrepareTaskExecutionActivity>(PrepareTaskExecutionActivity.Name)
            .AddActivity<AcquireTaskSlotActivity>(AcquireTaskSlotActivity.Name)
            .AddActivity<DispatchTaskJobActivity>(DispatchTaskJobActivity.Name)
            .AddActivity<FinishTaskExecutionActivity>(FinishTaskExecutionActivity.Name)
            .AddActivity<PlanScheduleStepActivity>(PlanScheduleStepActivity.Name)
            .AddActivity<StartScheduledRunActivity>(StartScheduledRunActivity.Name)
            .AddActivity<SendCallbackActivity>(SendCallbackActivity.Name)
            .AddActivity<RecordCallbackActivity>(RecordCallbackActivity.Name);
    }
}
