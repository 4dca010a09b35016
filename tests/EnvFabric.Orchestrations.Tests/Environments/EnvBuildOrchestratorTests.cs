using EnvFabric.Activities.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Orchestrations.Environments;

namespace EnvFabric.Orchestrations.Tests.Environments;

public sealed class EnvBuildOrchestratorTests
{
    private static EnvBuildInput Input(string operation = EnvOperations.Add) => new()
    {
        Operation = operation,
        Environment = "ml",
        Directory = "/share/envs/ml",
        Packages = ["alpha"],
        Who = "ci",
        ClientIp = "10.0.0.9",
        StaleAfterSeconds = 30,
        PickupTimeoutSeconds = 60,
        BuildTimeoutSeconds = 600,
    };

    private static ScriptedContext Happy(string instance = "op1") => new ScriptedContext(instance)
        .On(TakeEnvironmentLockActivity.Name, _ => new LockResponse(true, null, null, false, false))
        .On(DispatchRunnerJobActivity.Name, i => new DispatchResponse(((DispatchRequest)i!).JobId, "log", DateTimeOffset.UnixEpoch))
        .On(RecordEnvironmentChangeActivity.Name, _ => new RecordResponse { InstalledPackages = [new InstalledPackage("alpha", "1.0")] })
        .On(WriteEnvironmentAuditActivity.Name, _ => true)
        .On(ReleaseEnvironmentLockActivity.Name, _ => true)
        .On(StopRunnerJobActivity.Name, _ => true);

    [Fact]
    public async Task RunAsync_JobCompletes_RecordsAuditsAndReleasesInOrder()
    {
        var context = Happy().On(CheckRunnerJobActivity.Name, _ => new JobProbe { State = "finished", Status = "succeeded" });
        context.RaiseLater(new { jobId = "op1-00000001000000000000000000000000" });

        var result = await new EnvBuildOrchestrator().RunAsync(context, Input());

        Assert.True(result.Succeeded);
        Assert.Equal("op1", result.OperationId);
        Assert.Equal([new InstalledPackage("alpha", "1.0")], result.InstalledPackages);
        Assert.Equal(
            [TakeEnvironmentLockActivity.Name, DispatchRunnerJobActivity.Name, CheckRunnerJobActivity.Name, RecordEnvironmentChangeActivity.Name, WriteEnvironmentAuditActivity.Name, ReleaseEnvironmentLockActivity.Name],
            context.Calls.Select(c => c.Name));
        var audit = (AuditRequest)context.Calls.Single(c => c.Name == WriteEnvironmentAuditActivity.Name).Input!;
        Assert.True(audit.Succeeded);
        Assert.Equal("ci", audit.Build.Who);
    }

    [Fact]
    public async Task RunAsync_CompletionEventCarriesResult_NoTableRead()
    {
        var context = Happy();
        context.RaiseLater(new JobCompletedEvent("op1-00000001000000000000000000000000", new JobResult
        {
            JobId = "op1-00000001000000000000000000000000",
            Kind = JobKinds.RunCode,
            Status = JobStatus.Succeeded,
            ExitCode = 0,
            StdoutTail = "hello\n",
        }));

        var result = await new EnvBuildOrchestrator().RunAsync(context, Input(EnvOperations.Run) with { Code = "print('hello')" });

        Assert.True(result.Succeeded);
        Assert.Equal("hello\n", result.Stdout);
        Assert.DoesNotContain(context.Calls, c => c.Name == CheckRunnerJobActivity.Name);
    }

    [Fact]
    public async Task RunAsync_CompletionOfAnotherAttempt_IsIgnored()
    {
        var context = Happy().On(CheckRunnerJobActivity.Name, _ => new JobProbe { State = "finished", Status = "failed", Error = "boom" });
        context.RaiseLater(new JobCompletedEvent("old-attempt", new JobResult { JobId = "old-attempt", Kind = JobKinds.AddPackages, Status = JobStatus.Succeeded }));

        var result = await new EnvBuildOrchestrator().RunAsync(context, Input());

        Assert.False(result.Succeeded);
        Assert.Equal("boom", result.Error);
    }

    [Fact]
    public async Task RunAsync_LockHeld_ReturnsEnvLockedWithoutDispatchAndAudits()
    {
        var context = Happy().On(TakeEnvironmentLockActivity.Name, _ => new LockResponse(false, "op0", "create", false, false));

        var result = await new EnvBuildOrchestrator().RunAsync(context, Input());

        Assert.Equal(EnvErrorCodes.EnvLocked, result.ErrorCode);
        Assert.DoesNotContain(context.Calls, c => c.Name == DispatchRunnerJobActivity.Name);
        Assert.DoesNotContain(context.Calls, c => c.Name == ReleaseEnvironmentLockActivity.Name);
        Assert.Contains(context.Calls, c => c.Name == WriteEnvironmentAuditActivity.Name);
    }

    [Fact]
    public async Task RunAsync_EnvironmentGone_ReturnsNotFound()
    {
        var context = Happy().On(TakeEnvironmentLockActivity.Name, _ => new LockResponse(false, null, null, true, false));

        var result = await new EnvBuildOrchestrator().RunAsync(context, Input());

        Assert.Equal(EnvErrorCodes.EnvNotFound, result.ErrorCode);
    }

    [Fact]
    public async Task RunAsync_RunnerStopsHeartbeating_FailsWithReasonAndReleasesLock()
    {
        var probes = 0;
        var context = Happy().On(CheckRunnerJobActivity.Name, _ => ++probes < 3
            ? new JobProbe { State = "running", RunnerId = "r1" }
            : new JobProbe { State = "stale", RunnerId = "r1", LastHeartbeat = DateTimeOffset.UnixEpoch });

        var result = await new EnvBuildOrchestrator().RunAsync(context, Input());

        Assert.False(result.Succeeded);
        Assert.Equal(EnvErrorCodes.UvExecutionError, result.ErrorCode);
        Assert.Contains("runner r1 stopped sending heartbeats", result.Error, StringComparison.Ordinal);
        Assert.Equal(ReleaseEnvironmentLockActivity.Name, context.Calls[^1].Name);
        var record = (RecordRequest)context.Calls.Single(c => c.Name == RecordEnvironmentChangeActivity.Name).Input!;
        Assert.False(record.Succeeded);
    }

    [Fact]
    public async Task RunAsync_StaleWhileAnotherRunnerLives_WaitsForTakeoverAndSucceeds()
    {
        // The runner dies; a restarted one is alive and takes the job over on its next delivery.
        var probes = 0;
        var context = Happy().On(CheckRunnerJobActivity.Name, _ => ++probes switch
        {
            < 3 => new JobProbe { State = "stale", RunnerId = "r1", LastHeartbeat = DateTimeOffset.UnixEpoch, OtherRunnerAlive = true },
            < 5 => new JobProbe { State = "running", RunnerId = "r2" },
            _ => new JobProbe { State = "finished", Status = "succeeded", RunnerId = "r2" },
        });

        var result = await new EnvBuildOrchestrator().RunAsync(context, Input());

        Assert.True(result.Succeeded);
        Assert.Equal(5, probes);
    }

    [Fact]
    public async Task RunAsync_StaleAndNoRunnerTakesOver_FailsAfterTakeoverWindow()
    {
        var context = Happy().On(CheckRunnerJobActivity.Name, _ => new JobProbe { State = "stale", RunnerId = "r1", LastHeartbeat = DateTimeOffset.UnixEpoch, OtherRunnerAlive = true });
        var start = context.CurrentUtcDateTime;

        var result = await new EnvBuildOrchestrator().RunAsync(context, Input());

        Assert.False(result.Succeeded);
        Assert.Contains("no runner took the job over within 90 s", result.Error, StringComparison.Ordinal);
        Assert.True(context.CurrentUtcDateTime - start >= EnvBuildOrchestrator.TakeoverWindow);
    }

    [Fact]
    public async Task RunAsync_NoRunnerTakesTheJob_FailsAfterPickupTimeoutAndStopsIt()
    {
        var context = Happy().On(CheckRunnerJobActivity.Name, _ => new JobProbe { State = "queued" });

        var result = await new EnvBuildOrchestrator().RunAsync(context, Input());

        Assert.Contains("no runner took the job within 60 s", result.Error, StringComparison.Ordinal);
        Assert.Contains(context.Calls, c => c.Name == StopRunnerJobActivity.Name);
    }

    [Fact]
    public async Task RunAsync_BuildOutlivesTimeout_StopsJobAndFails()
    {
        var context = Happy().On(CheckRunnerJobActivity.Name, _ => new JobProbe { State = "running", RunnerId = "r1" });

        var result = await new EnvBuildOrchestrator().RunAsync(context, Input() with { BuildTimeoutSeconds = 20 });

        Assert.False(result.Succeeded);
        Assert.Contains("did not finish within 20 s", result.Error, StringComparison.Ordinal);
        Assert.Contains(context.Calls, c => c.Name == StopRunnerJobActivity.Name);
    }

    [Fact]
    public async Task RunAsync_AuditWriteFails_ReturnsDbAuditErrorAndStillReleasesLock()
    {
        var context = Happy()
            .On(CheckRunnerJobActivity.Name, _ => new JobProbe { State = "finished", Status = "succeeded" })
            .Fail(WriteEnvironmentAuditActivity.Name, "EnvFabric.Core.Audit.AuditWriteException", "table not found");

        var result = await new EnvBuildOrchestrator().RunAsync(context, Input());

        Assert.Equal(EnvErrorCodes.DbAuditError, result.ErrorCode);
        Assert.Equal(ReleaseEnvironmentLockActivity.Name, context.Calls[^1].Name);
    }

    [Fact]
    public async Task RunAsync_CreateWithUnresolvedPackage_FailsWithPackageResolutionFailed()
    {
        var context = Happy().On(CheckRunnerJobActivity.Name, _ => new JobProbe
        {
            State = "finished",
            Status = "succeeded",
            FailedPackages = [new PackageFailure("nope", "No matching distribution")],
        });

        var result = await new EnvBuildOrchestrator().RunAsync(context, Input(EnvOperations.Create));

        Assert.Equal(EnvErrorCodes.PackageResolutionFailed, result.ErrorCode);
    }

    [Fact]
    public async Task RunAsync_RunTimesOut_ReturnsExecutionTimeoutWithoutLock()
    {
        var context = Happy().On(CheckRunnerJobActivity.Name, _ => new JobProbe { State = "finished", Status = "timed_out" });

        var result = await new EnvBuildOrchestrator().RunAsync(context, Input(EnvOperations.Run) with { Code = "while True: pass", JobTimeoutSeconds = 1 });

        Assert.Equal(EnvErrorCodes.ExecutionTimeout, result.ErrorCode);
        Assert.DoesNotContain(context.Calls, c => c.Name is TakeEnvironmentLockActivity.Name or ReleaseEnvironmentLockActivity.Name);
    }

    [Fact]
    public async Task RunAsync_Rename_LocksBothNames()
    {
        var context = Happy().On(CheckRunnerJobActivity.Name, _ => new JobProbe { State = "finished", Status = "succeeded" });

        await new EnvBuildOrchestrator().RunAsync(context, Input(EnvOperations.Rename) with { NewName = "ml2", NewDirectory = "/share/envs/ml2" });

        var request = (LockRequest)context.Calls.First(c => c.Name == TakeEnvironmentLockActivity.Name).Input!;
        Assert.Equal(["ml", "ml2"], request.Names);
    }
}
