using System.Globalization;
using System.Text.Json;
using EnvFabric.Activities.Environments;
using EnvFabric.Activities.Tasks;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Tasks;
using EnvFabric.Durable;
using Microsoft.DurableTask;

namespace EnvFabric.Orchestrations.Tasks;

/// <summary>
/// One run of a task: record the execution, wait for a concurrency slot (deployment-wide, in priority order),
/// dispatch the runner's script job, wait for its completion against the runner's heartbeat, record status and
/// metrics, release the slot, and retry per the task's policy after a durable timer, each attempt its own
/// execution. A runner that dies mid-run turns the attempt into <c>abnormal</c>; a host that dies resumes here.
/// </summary>
public sealed class TaskRunOrchestrator : TaskOrchestrator<TaskRunInput, TaskRunResult>
{
    public const string Name = TaskOrchestratorNames.TaskRun;

    private static readonly TaskOptions StorageRetry = TaskOptions.FromRetryPolicy(new RetryPolicy(5, TimeSpan.FromSeconds(1), 2.0, TimeSpan.FromSeconds(15)));

    public override async Task<TaskRunResult> RunAsync(TaskOrchestrationContext context, TaskRunInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var executions = new List<string>();
        var trigger = input.Trigger;
        for (var attempt = 1; ; attempt++)
        {
            var executionId = attempt == 1 && input.FirstExecutionId is { } given
                ? given
                : NewExecutionId(context.CurrentUtcDateTime, context.NewGuid());
            executions.Add(executionId);
            var jobId = executionId + "-" + context.NewGuid().ToString("N")[..8];
            var plan = await context.CallActivityAsync<ExecutionPlan>(
                PrepareTaskExecutionActivity.Name,
                new PrepareExecutionRequest(
                    input.TaskId, context.InstanceId, executionId, attempt, trigger, input.DueAt, new DateTimeOffset(context.CurrentUtcDateTime, TimeSpan.Zero),
                    new FastDispatch(input.Settings.MaxConcurrent, jobId)),
                StorageRetry);
            if (!plan.Proceed)
            {
                if (plan.RecordedStatus != ExecutionStatuses.Queued)
                {
                    return new TaskRunResult(executions, plan.RecordedStatus ?? "abandoned", plan.Reason);
                }

                // Recorded but cannot run (its environment is gone): the attempt fails, without retries.
                await FinishAsync(context, input, executionId, attempt, ExecutionStatuses.Failed, plan.Reason, null, willRetry: false);
                return new TaskRunResult(executions, ExecutionStatuses.Failed, plan.Reason);
            }

            if (!plan.Dispatched && !await AcquireSlotAsync(context, input, executionId, plan))
            {
                await FinishAsync(context, input, executionId, attempt, ExecutionStatuses.Cancelled, "the task was stopped while the run waited for a slot", null, willRetry: false);
                return new TaskRunResult(executions, ExecutionStatuses.Cancelled, "stopped while queued");
            }

            (string Status, string? Error, JobResult? Result) outcome;
            try
            {
                if (!plan.Dispatched)
                {
                    await context.CallActivityAsync<bool>(
                        DispatchTaskJobActivity.Name, new DispatchTaskJobRequest(input.TaskId, executionId, jobId, context.InstanceId, plan), StorageRetry);
                }

                outcome = await WaitForJobAsync(context, input.Settings, jobId);
            }
            catch (TaskFailedException ex)
            {
                outcome = (ExecutionStatuses.Failed, "dispatching the runner job failed: " + ex.FailureDetails.ErrorMessage, null);
            }

            var willRetry = ExecutionStatuses.IsRetryable(outcome.Status) && attempt <= plan.MaxRetries;
            var finished = await FinishAsync(context, input, executionId, attempt, outcome.Status, outcome.Error, outcome.Result, willRetry);
            if (!finished.Retry)
            {
                return new TaskRunResult(executions, outcome.Status, outcome.Error);
            }

            var policy = new RetryPolicySettings { MaxRetries = plan.MaxRetries, RetryIntervalSeconds = plan.RetryIntervalSeconds, ExponentialBackoff = plan.ExponentialBackoff };
            await context.CreateTimerNotBefore(context.CurrentUtcDateTime + policy.DelayBefore(attempt + 1));
            trigger = ExecutionTriggers.Retry;
        }
    }

    /// <summary>An execution id: its UTC time to the millisecond, so ids sort by time, and 8 hex digits.</summary>
    public static string NewExecutionId(DateTime utc, Guid random) =>
        utc.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture) + "-" + random.ToString("N")[..8];

    private static async Task<bool> AcquireSlotAsync(TaskOrchestrationContext context, TaskRunInput input, string executionId, ExecutionPlan plan)
    {
        var request = new AcquireSlotRequest(
            input.TaskId, executionId, context.InstanceId, plan.PriorityRank, input.DueAt, plan.OnePerTask, input.Settings.MaxConcurrent, plan.Pool);
        while (true)
        {
            var grant = await context.CallActivityAsync<AcquireSlotResponse>(AcquireTaskSlotActivity.Name, request, StorageRetry);
            if (grant.Granted || grant.Abandon)
            {
                return grant.Granted;
            }

            try
            {
                // Woken by a finishing run; the timeout is the fallback when the wake-up went elsewhere.
                await context.WaitForExternalEvent<bool>(TaskEvents.SlotFreed, TimeSpan.FromSeconds(input.Settings.SlotPollSeconds));
            }
            catch (TaskCanceledException)
            {
                // Ask again.
            }
        }
    }

    private static async Task<(string Status, string? Error, JobResult? Result)> WaitForJobAsync(TaskOrchestrationContext context, TaskRunSettings settings, string jobId)
    {
        var pickupDeadline = context.CurrentUtcDateTime.AddSeconds(settings.PickupTimeoutSeconds);
        var started = context.CurrentUtcDateTime;
        while (true)
        {
            // Poll the job table every few seconds at first, then less often: a long run's history stays small.
            var poll = context.CurrentUtcDateTime - started < TimeSpan.FromMinutes(2) ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(10);
            try
            {
                var payload = await context.WaitForExternalEvent<JsonElement>(RunnerEvents.Completed, poll);
                if (RunnerEventPayloads.JobIdOf(payload) == jobId && RunnerEventPayloads.ResultOf(payload) is { } completed)
                {
                    return FromResult(completed);
                }
            }
            catch (TaskCanceledException)
            {
                // No completion yet: read the job table (a lost event, a dead runner, no runner at all).
            }

            var probe = await context.CallActivityAsync<JobProbe>(
                CheckRunnerJobActivity.Name, new JobProbeRequest(jobId, settings.StaleAfterSeconds), StorageRetry);
            if (probe.State == "finished" && probe.Result is { } result)
            {
                return FromResult(result);
            }

            if (probe.State == "stale")
            {
                // The script died with its runner; make sure no runner that picks the message up again runs it.
                await context.CallActivityAsync<bool>(StopRunnerJobActivity.Name, new StopJobRequest(jobId), StorageRetry);
                return (ExecutionStatuses.Abnormal, $"runner {probe.RunnerId} stopped sending heartbeats (last at {probe.LastHeartbeat:u}) during the run", null);
            }

            if (probe.State == "queued" && context.CurrentUtcDateTime >= pickupDeadline)
            {
                await context.CallActivityAsync<bool>(StopRunnerJobActivity.Name, new StopJobRequest(jobId), StorageRetry);
                return (ExecutionStatuses.Failed, $"no runner took the job within {settings.PickupTimeoutSeconds} s; is a runner running?", null);
            }
        }
    }

    private static (string Status, string? Error, JobResult? Result) FromResult(JobResult result) => result.Status switch
    {
        JobStatus.Succeeded => (ExecutionStatuses.Completed, null, result),
        JobStatus.TimedOut => (ExecutionStatuses.Timeout, result.Error, result),
        JobStatus.Cancelled => (ExecutionStatuses.Cancelled, result.Error, result),
        _ => (ExecutionStatuses.Failed, result.Error, result),
    };

    private static async Task<FinishExecutionResponse> FinishAsync(
        TaskOrchestrationContext context, TaskRunInput input, string executionId, int attempt, string status, string? error, JobResult? result, bool willRetry)
    {
        var finished = await context.CallActivityAsync<FinishExecutionResponse>(
            FinishTaskExecutionActivity.Name,
            new FinishExecutionRequest(input.TaskId, executionId, context.InstanceId, attempt, status, error, result, result?.RunnerId, willRetry, input.Who, input.ClientIp),
            StorageRetry);
        foreach (var waiter in finished.Wake)
        {
            context.SendEvent(waiter, TaskEvents.SlotFreed, true);
        }

        return finished;
    }
}
