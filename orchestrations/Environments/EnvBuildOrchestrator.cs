using System.Text.Json;
using EnvFabric.Activities.Environments;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Runner;
using Microsoft.DurableTask;

namespace EnvFabric.Orchestrations.Environments;

/// <summary>
/// Every environment mutation (create, add, remove, sync, rename, delete, reset, cleanup) and code runs:
/// take the lock, dispatch the runner job, wait for its completion against the build timeout and the
/// runner's heartbeat, record packages/lock/env_info, audit, release the lock. A runner that dies
/// mid-job turns into a failed build with the reason; a host that dies mid-build resumes here on restart.
/// </summary>
public sealed partial class EnvBuildOrchestrator : TaskOrchestrator<EnvBuildInput, EnvBuildResult>
{
    public const string Name = "EnvBuild";

    /// <summary>How often the job table is checked while no completion event arrives.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a job whose runner died may wait for another live runner to take it over: the dead runner's
    /// message comes back after the runner's visibility timeout (30 s) and is taken once its heartbeat is
    /// stale (30 s), so a minute and a half covers both with room.
    /// </summary>
    public static readonly TimeSpan TakeoverWindow = TimeSpan.FromSeconds(90);

    /// <summary>Lock TTL: a safety net only, longer than any build.</summary>
    public static readonly TimeSpan LockTtl = TimeSpan.FromHours(6);

    // Storage hiccups are retried; an activity's logic errors are not worth more than a few tries.
    private static readonly TaskOptions StorageRetry = TaskOptions.FromRetryPolicy(new RetryPolicy(5, TimeSpan.FromSeconds(1), 2.0, TimeSpan.FromSeconds(15)));

    private static readonly TaskOptions AuditRetry = TaskOptions.FromRetryPolicy(new RetryPolicy(3, TimeSpan.FromSeconds(1))
    {
        // A missing table or refused write will not heal by retrying; transient errors might.
        HandleFailure = f => !f.IsCausedBy<AuditWriteException>(),
    });

    public override async Task<EnvBuildResult> RunAsync(TaskOrchestrationContext context, EnvBuildInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var operationId = context.InstanceId;
        var mutates = EnvOperations.Mutates(input.Operation);
        var lockRequest = new LockRequest(
            input.Operation == EnvOperations.Rename ? [input.Environment, input.NewName!] : [input.Environment],
            operationId,
            input.Operation,
            (int)LockTtl.TotalSeconds);

        if (mutates)
        {
            var taken = await context.CallActivityAsync<LockResponse>(TakeEnvironmentLockActivity.Name, lockRequest, StorageRetry);
            if (!taken.Acquired)
            {
                var (code, message) = taken switch
                {
                    { EnvironmentMissing: true } => (EnvErrorCodes.EnvNotFound, $"Environment '{input.Environment}' not found"),
                    { TargetExists: true } => (EnvErrorCodes.EnvAlreadyExists, $"Environment '{input.NewName}' already exists"),
                    _ => (EnvErrorCodes.EnvLocked, $"Environment '{input.Environment}' is locked by another operation ({taken.HeldFor})"),
                };
                return await FinishAsync(context, input, lockRequest, Failure(input, operationId, code, message), jobId: null, releaseLock: false);
            }
        }

        string? jobId = null;
        JobProbe outcome;
        try
        {
            jobId = $"{operationId}-{context.NewGuid():N}";
            var dispatched = await context.CallActivityAsync<DispatchResponse>(
                DispatchRunnerJobActivity.Name, new DispatchRequest(input, operationId, jobId), StorageRetry);
            outcome = await WaitForJobAsync(context, input, dispatched);
        }
        catch (TaskFailedException ex)
        {
            outcome = new JobProbe { State = "failed", Status = "failed", Error = "dispatching the runner job failed: " + ex.FailureDetails.ErrorMessage };
        }

        var result = ToResult(input, operationId, outcome);
        return await FinishAsync(context, input, lockRequest, result, jobId, releaseLock: mutates);
    }

    private static async Task<JobProbe> WaitForJobAsync(TaskOrchestrationContext context, EnvBuildInput input, DispatchResponse dispatched)
    {
        var started = context.CurrentUtcDateTime;
        var deadline = started.AddSeconds(input.BuildTimeoutSeconds + (input.JobTimeoutSeconds ?? 0));
        var pickupDeadline = started.AddSeconds(input.PickupTimeoutSeconds);
        DateTime? staleSince = null;
        while (true)
        {
            var woken = false;
            try
            {
                var payload = await context.WaitForExternalEvent<JsonElement>(RunnerEvents.Completed, PollInterval);

                // Events of an earlier attempt (another job id) are ignored. The event carries the result, so
                // the usual path needs no table read; the table stays the fallback when the payload is unreadable.
                if (RunnerEventPayloads.JobIdOf(payload) == dispatched.JobId)
                {
                    if (RunnerEventPayloads.ResultOf(payload) is { } completed)
                    {
                        return CheckRunnerJobActivity.Summarize(completed.RunnerId, completed);
                    }

                    woken = true;
                }
            }
            catch (TaskCanceledException)
            {
                // No completion yet: look at the job table for a lost event, a dead runner or a missing one.
            }

            var probe = await context.CallActivityAsync<JobProbe>(
                CheckRunnerJobActivity.Name, new JobProbeRequest(dispatched.JobId, input.StaleAfterSeconds), StorageRetry);
            if (probe.State == "finished")
            {
                return probe;
            }

            var now = context.CurrentUtcDateTime;
            staleSince = probe.State == "stale" ? staleSince ?? now : null;
            if (probe.State == "stale" && (!probe.OtherRunnerAlive || now - staleSince >= TakeoverWindow))
            {
                return probe with
                {
                    Status = "failed",
                    Error = probe.OtherRunnerAlive
                        ? $"runner {probe.RunnerId} stopped sending heartbeats (last at {probe.LastHeartbeat:u}) and no runner took the job over within {TakeoverWindow.TotalSeconds:0} s; the build was abandoned"
                        : $"runner {probe.RunnerId} stopped sending heartbeats (last at {probe.LastHeartbeat:u}); the build was abandoned",
                };
            }

            if (probe.State == "queued" && now >= pickupDeadline)
            {
                await context.CallActivityAsync<bool>(StopRunnerJobActivity.Name, new StopJobRequest(dispatched.JobId), StorageRetry);
                return probe with { Status = "failed", Error = $"no runner took the job within {input.PickupTimeoutSeconds} s; is a runner running?" };
            }

            if (now >= deadline)
            {
                await context.CallActivityAsync<bool>(StopRunnerJobActivity.Name, new StopJobRequest(dispatched.JobId), StorageRetry);
                return probe with { Status = "timed_out", Error = $"the build did not finish within {input.BuildTimeoutSeconds} s and was stopped" };
            }

            if (woken)
            {
                // The event arrived before the runner's table write became visible; check again shortly.
                continue;
            }
        }
    }

    private static async Task<EnvBuildResult> FinishAsync(
        TaskOrchestrationContext context, EnvBuildInput input, LockRequest lockRequest, EnvBuildResult result, string? jobId, bool releaseLock)
    {
        try
        {
            if (releaseLock || input.Operation == EnvOperations.Run)
            {
                var recorded = await context.CallActivityAsync<RecordResponse>(
                    RecordEnvironmentChangeActivity.Name,
                    new RecordRequest(input, context.InstanceId, jobId, result.Succeeded, result.Error),
                    StorageRetry);
                result = result with
                {
                    Snapshot = recorded.Snapshot,
                    InstalledPackages = recorded.InstalledPackages,
                    FailedPackages = recorded.FailedPackages.Count > 0 ? recorded.FailedPackages : result.FailedPackages,
                    RemovedPackages = recorded.RemovedPackages,
                    UpdatedTasksCount = recorded.UpdatedTasksCount,
                };
            }
        }
        catch (TaskFailedException ex)
        {
            result = result with { Succeeded = false, ErrorCode = EnvErrorCodes.UvExecutionError, Error = "recording the environment failed: " + ex.FailureDetails.ErrorMessage };
        }

        // The audit and the release are independent: run them side by side (fan-out, one replay episode).
        var audit = context.CallActivityAsync<bool>(
            WriteEnvironmentAuditActivity.Name,
            new AuditRequest(input, context.InstanceId, result.Succeeded, result.Error, new DateTimeOffset(context.CurrentUtcDateTime, TimeSpan.Zero)),
            AuditRetry);
        var release = releaseLock
            ? context.CallActivityAsync<bool>(ReleaseEnvironmentLockActivity.Name, lockRequest, StorageRetry)
            : Task.FromResult(true);
        try
        {
            await audit;
        }
        catch (TaskFailedException ex)
        {
            // Seed 001: the audit is mandatory; a failed write fails the request, whatever the build did.
            result = result with { Succeeded = false, ErrorCode = EnvErrorCodes.DbAuditError, Error = "audit write failed: " + ex.FailureDetails.ErrorMessage };
        }

        await release;
        return result;
    }
}
