using EnvFabric.Core.Configuration;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EnvFabric.Core.Tests.Runner;

/// <summary>Which pool's queue (real queues on Azurite) a job lands on, with the runners given by a registry the test holds.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class JobQueueRoutingTests(AzuriteFixture azurite)
{
    private static readonly RunnerCapabilities VenvOnly = new() { Backends = [EnvironmentBackend.Venv] };
    private static readonly RunnerCapabilities WithUv = new() { Backends = [EnvironmentBackend.Uv, EnvironmentBackend.Venv], Tools = [new RunnerTool("uv", "/usr/bin/uv", "0.9.0")] };
    private static readonly RunnerCapabilities WithConda = new() { Backends = [EnvironmentBackend.Conda, EnvironmentBackend.Venv], CondaTool = "micromamba" };

    [Fact]
    public async Task EnvironmentJobForUv_GoesToThePoolWhoseRunnerHasUv()
    {
        var (queue, names, storage, _) = Setup(Runner("a", "default", VenvOnly), Runner("b", "tools", WithUv));

        var uv = EnvJob(EnvironmentBackend.Uv);
        await queue.EnqueueAsync(uv);
        var venv = EnvJob(EnvironmentBackend.Venv);
        await queue.EnqueueAsync(venv);

        Assert.Equal([uv.JobId], await JobIdsAsync(storage, RunnerStorage.JobQueue(names, "tools")));
        Assert.Equal([venv.JobId], await JobIdsAsync(storage, RunnerStorage.JobQueue(names)));
    }

    [Fact]
    public async Task Routing_PrefersDefault_ThenTheMostRunners_ElseTheDefaultQueue()
    {
        var (queue, _, _, _) = Setup(
            Runner("a", "default", WithUv), Runner("b", "tools", WithUv), Runner("c", "tools", WithUv),
            Runner("d", "conda1", WithConda), Runner("e", "conda2", WithConda), Runner("f", "conda2", WithConda),
            Runner("g", "conda3", WithConda) with { Stopped = true }, Runner("h", "conda3", WithConda), Runner("i", "conda3", WithConda) with { LastHeartbeat = DateTimeOffset.UtcNow.AddMinutes(-10) });

        Assert.Equal("default", await queue.PoolForAsync(EnvJob(EnvironmentBackend.Uv)));
        Assert.Equal("conda2", await queue.PoolForAsync(EnvJob(EnvironmentBackend.Conda)));
        Assert.Equal("default", await queue.PoolForAsync(new PythonInstallJob { JobId = "j1", InstanceId = "", LogBlobName = "l", EnvironmentDirectory = "", PythonVersion = "3.12" }));
        Assert.Equal("gpu", await queue.PoolForAsync(EnvJob(EnvironmentBackend.Conda) with { Pool = "gpu" }));
        Assert.Equal("default", await queue.PoolForAsync(new ScriptJob { JobId = "j2", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = "", WorkingDirectory = "" }));
    }

    [Fact]
    public async Task NoLiveRunnerHasTheBackend_TheJobWaitsOnTheDefaultQueue()
    {
        var (queue, _, _, _) = Setup(Runner("a", "default", VenvOnly), Runner("b", "tools", WithUv) with { Stopped = true });

        Assert.Equal("default", await queue.PoolForAsync(EnvJob(EnvironmentBackend.Uv)));
        Assert.Equal("default", await queue.PoolForAsync(new PythonInstallJob { JobId = "j", InstanceId = "", LogBlobName = "l", EnvironmentDirectory = "", PythonVersion = "3.12" }));
    }

    [Fact]
    public async Task PythonInstall_GoesToAPoolWithUvOrConda()
    {
        var (queue, _, _, _) = Setup(Runner("a", "default", VenvOnly), Runner("b", "conda1", WithConda));

        Assert.Equal("conda1", await queue.PoolForAsync(new PythonInstallJob { JobId = "j", InstanceId = "", LogBlobName = "l", EnvironmentDirectory = "", PythonVersion = "3.12" }));
    }

    [Fact]
    public async Task Runners_AreReadAtMostOncePerCacheWindow()
    {
        var (queue, _, _, registry) = Setup(Runner("a", "default", VenvOnly), Runner("b", "tools", WithUv));

        await queue.PoolForAsync(EnvJob(EnvironmentBackend.Uv));
        await queue.PoolForAsync(EnvJob(EnvironmentBackend.Uv));
        Assert.Equal(1, registry.Reads);

        registry.Clock.Advance(AzureRunnerJobQueue.RunnersCacheFor);
        await queue.PoolForAsync(EnvJob(EnvironmentBackend.Uv));
        Assert.Equal(2, registry.Reads);
    }

    [Fact]
    public void JobQueue_NamesFitTheStorageRules()
    {
        var plain = new StorageNames(Options.Create(new EnvFabricOptions()));
        var prefixed = new StorageNames(Options.Create(new EnvFabricOptions { StoragePrefix = "p12345678901234567890"[..20] }));
        var longPool = "a" + new string('b', 30) + "c";

        Assert.Equal("runner-jobs", RunnerStorage.JobQueue(plain, "default"));
        Assert.Equal("runner-jobs", RunnerStorage.JobQueue(plain, null));
        Assert.Equal("runner-jobs-gpu", RunnerStorage.JobQueue(plain, "gpu"));
        Assert.Equal("runner-jobs-" + longPool, RunnerStorage.JobQueue(plain, longPool));
        var cut = RunnerStorage.JobQueue(prefixed, longPool);
        Assert.Equal(RunnerStorage.MaxQueueNameLength, cut.Length);
        Assert.StartsWith("p1234567890123456789-runner-jobs-abbb", cut, StringComparison.Ordinal);
        Assert.NotEqual(cut, RunnerStorage.JobQueue(prefixed, longPool[..^1] + "d"));
        Assert.Matches("^[a-z0-9]+(-[a-z0-9]+)*$", cut);
        Assert.Throws<ArgumentException>(() => RunnerStorage.JobQueue(plain, "Not A Pool"));
    }

    private (AzureRunnerJobQueue Queue, StorageNames Names, StorageAccount Storage, FakeRegistry Registry) Setup(params RunnerInfo[] runners)
    {
        var names = new StorageNames(Options.Create(new EnvFabricOptions { StoragePrefix = AzuriteFixture.UniqueName("q") }));
        var storage = StorageAccount.FromConnectionString(azurite.ConnectionString);
        var registry = new FakeRegistry(runners);
        return (new AzureRunnerJobQueue(storage, names, registry, registry.Clock), names, storage, registry);
    }

    private static async Task<List<string>> JobIdsAsync(StorageAccount storage, string queueName)
    {
        var queue = storage.Queues.GetQueueClient(queueName);
        if (!(await queue.ExistsAsync()).Value)
        {
            return [];
        }

        var messages = (await queue.PeekMessagesAsync(32)).Value;
        return messages.Select(m => RunnerJson.Deserialize<RunnerJob>(m.Body.ToString())!.JobId).ToList();
    }

    private static CreateEnvironmentJob EnvJob(EnvironmentBackend backend) => new()
    {
        JobId = "job-" + Guid.NewGuid().ToString("N")[..12],
        InstanceId = "inst",
        LogBlobName = "log",
        EnvironmentDirectory = "/envs/e",
        Backend = backend,
    };

    private static RunnerInfo Runner(string id, string pool, RunnerCapabilities capabilities) => new()
    {
        RunnerId = id,
        Pool = pool,
        Capabilities = capabilities,
        StartedAt = DateTimeOffset.UtcNow,
        LastHeartbeat = DateTimeOffset.UtcNow,
    };

    private sealed class FakeRegistry(IReadOnlyList<RunnerInfo> runners) : IRunnerRegistry
    {
        public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

        public int Reads { get; private set; }

        public Task<IReadOnlyList<RunnerInfo>> GetRunnersAsync(CancellationToken cancellationToken = default)
        {
            Reads++;
            return Task.FromResult(runners);
        }

        public Task PublishAsync(RunnerInfo runner, CancellationToken cancellationToken = default) => throw new NotSupportedException("the routing only reads runners");
    }
}
