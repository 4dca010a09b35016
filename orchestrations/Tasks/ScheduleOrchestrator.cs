using EnvFabric.Activities.Tasks;
using EnvFabric.Durable;
using Microsoft.DurableTask;

namespace EnvFabric.Orchestrations.Tasks;

/// <summary>
/// The eternal schedule of one task (instance <c>schedule-{task_id}</c>): plan the next occurrence, wait for it on
/// a timer that never fires early (chained past the provider's limit), start its <c>TaskRun</c>, then
/// <c>ContinueAsNew</c>. Pause, resume, stop and updates arrive as <see cref="TaskEvents.ScheduleChanged"/>, which
/// only wakes it: the task row is the truth, re-read by the plan and checked again before a run starts, so a lost
/// event delays nothing but a paused task's resume by at most <see cref="PausedRecheck"/>.
/// </summary>
public sealed class ScheduleOrchestrator : TaskOrchestrator<ScheduleInput, string>
{
    public const string Name = TaskOrchestratorNames.Schedule;

    /// <summary>How often a paused schedule re-reads its task when no event comes.</summary>
    public static readonly TimeSpan PausedRecheck = TimeSpan.FromMinutes(5);

    private static readonly TaskOptions StorageRetry = TaskOptions.FromRetryPolicy(new RetryPolicy(5, TimeSpan.FromSeconds(1), 2.0, TimeSpan.FromSeconds(15)));

    public override async Task<string> RunAsync(TaskOrchestrationContext context, ScheduleInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var plan = await context.CallActivityAsync<SchedulePlan>(
            PlanScheduleStepActivity.Name, new SchedulePlanRequest(input.TaskId, input.PreviousDue), StorageRetry);
        switch (plan.Action)
        {
            case "end":
                return "ended";
            case "paused":
                await WaitForChangeAsync(context, null, PausedRecheck);
                context.ContinueAsNew(input);
                return "paused";
        }

        var due = plan.Due!.Value;
        if (!await WaitForChangeAsync(context, due.UtcDateTime, null))
        {
            // Something changed before the occurrence was due: plan again from the same point.
            context.ContinueAsNew(input);
            return "replanned";
        }

        var started = await context.CallActivityAsync<StartScheduledRunResponse>(
            StartScheduledRunActivity.Name, new StartScheduledRunRequest(input.TaskId, plan.Generation, due, plan.Trigger, input.Settings), StorageRetry);
        context.ContinueAsNew(started.Outcome == "replan" ? input : input with { PreviousDue = due });
        return started.Outcome;
    }

    /// <summary>
    /// Waits until <paramref name="dueUtc"/> (true) or a change event (false); with no due time, until the event or
    /// <paramref name="recheck"/> elapses (false either way).
    /// </summary>
    private static async Task<bool> WaitForChangeAsync(TaskOrchestrationContext context, DateTime? dueUtc, TimeSpan? recheck)
    {
        using var cancel = new CancellationTokenSource();
        var changed = context.WaitForExternalEvent<string>(TaskEvents.ScheduleChanged, cancel.Token);
        var timer = dueUtc is { } due
            ? context.CreateTimerNotBefore(due, cancel.Token)
            : context.CreateTimer(recheck!.Value, cancel.Token);
        var first = await Task.WhenAny(changed, timer);
        cancel.Cancel();
        return first == timer && dueUtc is not null;
    }
}
