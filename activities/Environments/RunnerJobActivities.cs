using EnvFabric.Core.Runner;
using Microsoft.DurableTask;

namespace EnvFabric.Activities.Environments;

/// <summary>
/// Enqueues the build's runner job. The job id comes from the orchestration (replay-stable), so a retried
/// dispatch enqueues the same job id again; the runner's job table makes the second copy a no-op.
/// </summary>
public sealed class DispatchRunnerJobActivity(IRunnerJobQueue queue, TimeProvider time) : TaskActivity<DispatchRequest, DispatchResponse>
{
    public const string Name = "DispatchRunnerJob";

    /// <summary>The install log's blob name for an operation (in the runner's logs container).</summary>
    public static string LogBlobName(string operationId) => $"env-ops/{operationId}.log";

    public override async Task<DispatchResponse> RunAsync(TaskActivityContext context, DispatchRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var job = BuildJob(input);
        await queue.EnqueueAsync(job, CancellationToken.None).ConfigureAwait(false);
        return new DispatchResponse(job.JobId, job.LogBlobName, time.GetUtcNow());
    }

    public static RunnerJob BuildJob(DispatchRequest input)
    {
        var b = input.Build;
        var log = LogBlobName(input.InstanceId);
        return b.Operation switch
        {
            EnvOperations.Create or EnvOperations.Reset => new CreateEnvironmentJob
            {
                JobId = input.JobId, InstanceId = input.InstanceId, LogBlobName = log, EnvironmentDirectory = b.Directory, Backend = b.Backend,
                PythonVersion = b.PythonVersion, Packages = b.Packages, RequirementsText = b.RequirementsText,
                Overwrite = b.Operation == EnvOperations.Reset,
            },
            EnvOperations.Add => new AddPackagesJob
            {
                JobId = input.JobId, InstanceId = input.InstanceId, LogBlobName = log, EnvironmentDirectory = b.Directory, Backend = b.Backend,
                Packages = b.Packages, RequirementsText = b.RequirementsText,
            },
            EnvOperations.Remove => new RemovePackagesJob
            {
                JobId = input.JobId, InstanceId = input.InstanceId, LogBlobName = log, EnvironmentDirectory = b.Directory, Backend = b.Backend,
                Packages = b.Packages,
            },
            EnvOperations.Sync => new SyncEnvironmentJob
            {
                JobId = input.JobId, InstanceId = input.InstanceId, LogBlobName = log, EnvironmentDirectory = b.Directory, Backend = b.Backend,
            },
            EnvOperations.Rename => new RenameEnvironmentJob
            {
                JobId = input.JobId, InstanceId = input.InstanceId, LogBlobName = log, EnvironmentDirectory = b.Directory, Backend = b.Backend,
                NewDirectory = b.NewDirectory ?? throw new InvalidOperationException("rename needs a new directory"),
            },
            EnvOperations.Delete or EnvOperations.Cleanup => new DeleteEnvironmentJob
            {
                JobId = input.JobId, InstanceId = input.InstanceId, LogBlobName = log, EnvironmentDirectory = b.Directory, Backend = b.Backend,
            },
            EnvOperations.Run => new RunCodeJob
            {
                JobId = input.JobId, InstanceId = input.InstanceId, LogBlobName = log, EnvironmentDirectory = b.Directory, Backend = b.Backend,
                Code = b.Code ?? "", TimeoutSeconds = b.JobTimeoutSeconds,
            },
            _ => throw new InvalidOperationException($"unknown environment operation '{b.Operation}'"),
        };
    }
}

/// <summary>
/// Reads the runner's job table: whether a runner took the job, whether it still sends heartbeats, and the
/// result once finished (also when the completion event was lost).
/// </summary>
public sealed class CheckRunnerJobActivity(RunnerJobTable jobs, IRunnerRegistry runners, TimeProvider time) : TaskActivity<JobProbeRequest, JobProbe>
{
    public const string Name = "CheckRunnerJob";

    public override async Task<JobProbe> RunAsync(TaskActivityContext context, JobProbeRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var record = await jobs.GetAsync(input.JobId, CancellationToken.None).ConfigureAwait(false);
        if (record is null)
        {
            return new JobProbe { State = "queued" };
        }

        if (record.Result is { } result)
        {
            return Summarize(record.RunnerId, result);
        }

        var now = time.GetUtcNow();
        var stale = record.State == RunnerJobStates.Running && record.IsStale(now, TimeSpan.FromSeconds(input.StaleAfterSeconds));
        // Another runner, or a new incarnation of the same one (restarted with its id), can take the job over.
        var lastSign = record.LastHeartbeat ?? record.StartedAt ?? DateTimeOffset.MinValue;
        var othersAlive = stale && (await runners.GetRunnersAsync(CancellationToken.None).ConfigureAwait(false))
            .Any(r => r.IsAlive(now, RunnerDefaults.StaleAfter) && (r.RunnerId != record.RunnerId || r.StartedAt > lastSign));
        return new JobProbe { State = stale ? "stale" : "running", RunnerId = record.RunnerId, LastHeartbeat = record.LastHeartbeat, OtherRunnerAlive = othersAlive };
    }

    public static JobProbe Summarize(string? runnerId, JobResult result) => new()
    {
        State = "finished",
        RunnerId = runnerId ?? result.RunnerId,
        Status = StatusName(result.Status),
        Error = result.Error,
        ExitCode = result.ExitCode,
        DurationSeconds = result.DurationSeconds,
        StdoutTail = result.StdoutTail,
        StderrTail = result.StderrTail,
        FailedPackages = result.FailedPackages ?? [],
        Result = result,
    };

    private static string StatusName(JobStatus status) => status switch
    {
        JobStatus.Succeeded => "succeeded",
        JobStatus.Failed => "failed",
        JobStatus.TimedOut => "timed_out",
        JobStatus.Cancelled => "cancelled",
        _ => "rejected",
    };
}

/// <summary>Asks the runner holding a job to stop it (build timeout).</summary>
public sealed class StopRunnerJobActivity(IRunnerControl control) : TaskActivity<StopJobRequest, bool>
{
    public const string Name = "StopRunnerJob";

    public override async Task<bool> RunAsync(TaskActivityContext context, StopJobRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var delivery = await control.SendAsync(input.JobId, RunnerControlAction.Stop, CancellationToken.None).ConfigureAwait(false);
        return delivery != ControlDelivery.AlreadyFinished;
    }
}
