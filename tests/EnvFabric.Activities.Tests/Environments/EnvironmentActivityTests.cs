using EnvFabric.Activities.Environments;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Share;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;
using Microsoft.DurableTask;
using EnvFabric.Testing;
using Microsoft.Extensions.Options;

namespace EnvFabric.Activities.Tests.Environments;

/// <summary>The environment activities against Azurite tables and a local share.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class EnvironmentActivityTests(AzuriteFixture azurite) : IDisposable
{
    private readonly TempDirectory _share = new("activities-share");
    private readonly StorageAccount _storage = StorageAccount.FromConnectionString(azurite.ConnectionString);
    private readonly StorageNames _names = new(Options.Create(new EnvFabricOptions { StoragePrefix = AzuriteFixture.UniqueName("a") }));

    public void Dispose() => _share.Dispose();

    private sealed class Context(string instanceId) : TaskActivityContext
    {
        public override TaskName Name => "test";

        public override string InstanceId => instanceId;
    }

    private static EnvBuildInput Build(string operation, string name = "ml") => new()
    {
        Operation = operation,
        Environment = name,
        Directory = "/share/envs/" + name,
        Packages = ["alpha==1.0", "beta"],
        Who = "ci",
        ClientIp = "10.1.1.1",
        InputsJson = "{\"packages\":[\"alpha==1.0\",\"beta\"]}",
        RequestedAt = DateTimeOffset.UtcNow.AddSeconds(-3),
    };

    private async Task<TableEnvironmentRepository> RepositoryAsync(params EnvironmentRecord[] records)
    {
        var repository = new TableEnvironmentRepository(_storage, _names);
        await repository.EnsureCreatedAsync();
        foreach (var record in records)
        {
            await repository.AddAsync(record);
        }

        return repository;
    }

    private static EnvironmentRecord Record(string name) => new()
    {
        Name = name,
        PythonVersion = "3.11",
        Path = "/share/envs/" + name,
        Status = EnvironmentStatus.Ready,
        Packages = [new InstalledPackage("gamma", "0.3")],
        RequestedSpecs = ["gamma"],
    };

    [Fact]
    public async Task TakeLock_ThenOtherOwner_RefusedAndEnvironmentMarked()
    {
        var repository = await RepositoryAsync(Record("ml"));
        var locks = new TableEnvironmentLock(_storage, _names, TimeProvider.System);
        await locks.EnsureCreatedAsync();
        var activity = new TakeEnvironmentLockActivity(locks, repository, TimeProvider.System);

        var first = await activity.RunAsync(new Context("op1"), new LockRequest(["ml"], "op1", EnvOperations.Delete, 600));
        var second = await activity.RunAsync(new Context("op2"), new LockRequest(["ml"], "op2", EnvOperations.Add, 600));
        var retried = await activity.RunAsync(new Context("op1"), new LockRequest(["ml"], "op1", EnvOperations.Delete, 600));

        Assert.True(first.Acquired);
        Assert.False(second.Acquired);
        Assert.Equal("op1", second.HeldBy);
        Assert.True(retried.Acquired);
        var marked = await repository.GetAsync("ml");
        Assert.Equal(EnvironmentStatus.Deleting, marked!.Status);
        Assert.Equal("op1", marked.LastOperationId);

        Assert.True(await new ReleaseEnvironmentLockActivity(locks).RunAsync(new Context("op1"), new LockRequest(["ml"], "op1", EnvOperations.Delete, 600)));
        Assert.Null(await locks.GetAsync("ml"));
    }

    [Fact]
    public async Task TakeLock_MissingEnvironment_ReleasesAndSaysMissing()
    {
        var repository = await RepositoryAsync();
        var locks = new TableEnvironmentLock(_storage, _names, TimeProvider.System);
        await locks.EnsureCreatedAsync();

        var response = await new TakeEnvironmentLockActivity(locks, repository, TimeProvider.System)
            .RunAsync(new Context("op1"), new LockRequest(["ghost"], "op1", EnvOperations.Add, 600));

        Assert.True(response.EnvironmentMissing);
        Assert.Null(await locks.GetAsync("ghost"));
    }

    [Fact]
    public async Task RecordChange_FinishedAdd_StoresPackagesLockAndEnvInfo()
    {
        var repository = await RepositoryAsync(Record("ml"));
        var jobs = new RunnerJobTable(_storage, _names);
        await jobs.MarkRunningAsync("job1", "r1", "op1", DateTimeOffset.UtcNow);
        await jobs.MarkFinishedAsync(new JobResult
        {
            JobId = "job1",
            Kind = JobKinds.AddPackages,
            Status = JobStatus.Succeeded,
            RunnerId = "r1",
            Packages = [new InstalledPackage("gamma", "0.3"), new InstalledPackage("alpha", "1.0"), new InstalledPackage("beta", "2.0")],
            Lock = new LockFile(LockKind.PipFreeze, "requirements.lock.txt", "alpha==1.0\nbeta==2.0\ngamma==0.3\n"),
            PythonVersion = "3.11.7",
        });
        var envInfo = new EnvInfoStore(new LocalShareStore(_share.Path));
        var activity = new RecordEnvironmentChangeActivity(repository, envInfo, new TableTaskReferences(_storage, _names), jobs, TimeProvider.System);

        var response = await activity.RunAsync(new Context("op1"), new RecordRequest(Build(EnvOperations.Add), "op1", "job1", true, null));

        Assert.Equal(["alpha", "beta"], response.InstalledPackages.Select(p => p.Name));
        var saved = await repository.GetAsync("ml");
        Assert.Equal(3, saved!.Packages.Count);
        Assert.Equal("pip-freeze", saved.LockKind);
        Assert.Contains("beta==2.0", saved.LockText, StringComparison.Ordinal);
        Assert.Equal("3.11.7", saved.PythonVersion);
        Assert.Equal(["gamma", "alpha==1.0", "beta"], saved.RequestedSpecs);
        Assert.Equal(3, (await envInfo.ReadAsync("ml"))!.Packages.Count);
    }

    [Fact]
    public async Task RecordChange_FailedCreate_MarksFailedWithReason()
    {
        var repository = await RepositoryAsync(Record("ml") with { Status = EnvironmentStatus.Creating, Packages = [] });
        var activity = new RecordEnvironmentChangeActivity(repository, new EnvInfoStore(new LocalShareStore(_share.Path)), new TableTaskReferences(_storage, _names), new RunnerJobTable(_storage, _names), TimeProvider.System);

        await activity.RunAsync(new Context("op1"), new RecordRequest(Build(EnvOperations.Create), "op1", null, false, "runner r1 stopped sending heartbeats"));

        var saved = await repository.GetAsync("ml");
        Assert.Equal(EnvironmentStatus.Failed, saved!.Status);
        Assert.Equal("runner r1 stopped sending heartbeats", saved.LastError);
    }

    [Fact]
    public async Task RecordChange_Delete_RemovesRowAndEnvInfo()
    {
        var repository = await RepositoryAsync(Record("ml"));
        var envInfo = new EnvInfoStore(new LocalShareStore(_share.Path));
        await envInfo.WriteAsync(Record("ml"));
        var activity = new RecordEnvironmentChangeActivity(repository, envInfo, new TableTaskReferences(_storage, _names), new RunnerJobTable(_storage, _names), TimeProvider.System);

        await activity.RunAsync(new Context("op1"), new RecordRequest(Build(EnvOperations.Delete), "op1", null, true, null));

        Assert.Null(await repository.GetAsync("ml"));
        Assert.Null(await envInfo.ReadAsync("ml"));
    }

    [Fact]
    public async Task WriteAudit_WritesOneRowPerOperation()
    {
        var audit = new TableAuditLog(_storage, _names);
        await audit.EnsureCreatedAsync();
        var activity = new WriteEnvironmentAuditActivity(audit);
        var finished = DateTimeOffset.UtcNow.AddSeconds(1);

        await activity.RunAsync(new Context("op1"), new AuditRequest(Build(EnvOperations.Add), "op1", true, null, finished));
        await activity.RunAsync(new Context("op1"), new AuditRequest(Build(EnvOperations.Add), "op1", true, null, finished));

        var row = Assert.Single(await audit.QueryAsync(new AuditQuery { Environment = "ml" }));
        Assert.Equal("ci", row.Who);
        Assert.Equal("10.1.1.1", row.ClientIp);
        Assert.Equal("succeeded", row.Outcome);
        Assert.True(row.DurationMs >= 3000);
    }

    [Fact]
    public void BuildJob_EachOperation_MapsToItsRunnerJob()
    {
        DispatchRequest Request(string op) => new(Build(op) with { NewDirectory = "/share/envs/ml2", Code = "print(1)", JobTimeoutSeconds = 5 }, "op1", "job1");

        Assert.IsType<CreateEnvironmentJob>(DispatchRunnerJobActivity.BuildJob(Request(EnvOperations.Create)));
        Assert.True(((CreateEnvironmentJob)DispatchRunnerJobActivity.BuildJob(Request(EnvOperations.Reset))).Overwrite);
        Assert.IsType<AddPackagesJob>(DispatchRunnerJobActivity.BuildJob(Request(EnvOperations.Add)));
        Assert.IsType<RemovePackagesJob>(DispatchRunnerJobActivity.BuildJob(Request(EnvOperations.Remove)));
        Assert.IsType<SyncEnvironmentJob>(DispatchRunnerJobActivity.BuildJob(Request(EnvOperations.Sync)));
        Assert.Equal("/share/envs/ml2", ((RenameEnvironmentJob)DispatchRunnerJobActivity.BuildJob(Request(EnvOperations.Rename))).NewDirectory);
        Assert.IsType<DeleteEnvironmentJob>(DispatchRunnerJobActivity.BuildJob(Request(EnvOperations.Cleanup)));
        var run = (RunCodeJob)DispatchRunnerJobActivity.BuildJob(Request(EnvOperations.Run));
        Assert.Equal("print(1)", run.Code);
        Assert.Equal(5, run.TimeoutSeconds);
        Assert.Equal("env-ops/op1.log", run.LogBlobName);
    }
}
