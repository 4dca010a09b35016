using EnvFabric.Core.Configuration;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Runner.Jobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Runner.Tests;

/// <summary>RUNNER_POOL and RUNNER_GPUS: the runner's settings, the queue it consumes and its heartbeat.</summary>
[Collection(RunnerCollection.Name)]
public sealed class RunnerPoolTests(RunnerFixture fixture)
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("GPU", "Setting RUNNER_POOL: 'GPU' is not a pool name (use 1 to 32 lower-case letters, digits or '-', starting with a letter or digit, e.g. gpu)")]
    [InlineData("-gpu", "Setting RUNNER_POOL: '-gpu' is not a pool name (use 1 to 32 lower-case letters, digits or '-', starting with a letter or digit, e.g. gpu)")]
    [InlineData("a-very-long-pool-name-of-33-chars", "Setting RUNNER_POOL: 'a-very-long-pool-name-of-33-chars' is not a pool name (use 1 to 32 lower-case letters, digits or '-', starting with a letter or digit, e.g. gpu)")]
    public void Bind_InvalidPool_OneLineNamingIt(string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["RUNNER_POOL"] = value }).Build();

        var error = Assert.Throws<InvalidSettingException>(() => RunnerOptions.Bind(configuration, new RunnerOptions()));

        Assert.Equal(expected, error.Message);
    }

    [Theory]
    [InlineData("-1", "Setting RUNNER_GPUS: '-1' is out of range (use 0 to 1024)")]
    [InlineData("two", "Setting RUNNER_GPUS: 'two' is not a whole number")]
    public void Bind_InvalidGpus_OneLineNamingIt(string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["RUNNER_GPUS"] = value }).Build();

        var error = Assert.Throws<InvalidSettingException>(() => RunnerOptions.Bind(configuration, new RunnerOptions()));

        Assert.Equal(expected, error.Message);
    }

    [Fact]
    public void Bind_Nothing_IsTheDefaultPoolWithoutGpus()
    {
        var options = new RunnerOptions();
        RunnerOptions.Bind(new ConfigurationBuilder().Build(), options);

        Assert.Equal("default", options.Pool);
        Assert.Equal(0, options.Gpus);
    }

    [Fact]
    public async Task GpuRunner_TakesItsPoolsJob_LeavesTheDefaultOne_AndAnnouncesPoolCoresGpus()
    {
        await using var runner = await RunnerHarness.StartAsync(fixture.Azurite, new Dictionary<string, string?> { ["RUNNER_POOL"] = "gpu", ["RUNNER_GPUS"] = "2" });
        var storage = runner.Services.GetRequiredService<StorageAccount>();
        var names = runner.Services.GetRequiredService<StorageNames>();

        // The runner created its pool's queue at start.
        var gpuQueue = storage.Queues.GetQueueClient(RunnerStorage.JobQueue(names, "gpu"));
        Assert.Equal("-runner-jobs-gpu", gpuQueue.Name[gpuQueue.Name.IndexOf('-', StringComparison.Ordinal)..]);
        Assert.True((await gpuQueue.ExistsAsync()).Value);

        var env = Path.Combine(runner.Paths.Envs, "pool-env");
        Assert.Equal(0, await RunnerHarness.RunToolAsync("python3", "-m", "venv", "--without-pip", Path.Combine(env, ".venv")));
        var dir = runner.ScriptDirectory(("main.py", "print('on the gpu pool')\n"));
        var forDefault = runner.Script(dir, env, "python main.py") with { Pool = "default" };
        var forGpu = runner.Script(dir, env, "python main.py") with { Pool = "gpu" };
        await runner.Queue.EnqueueAsync(forDefault);
        var result = await runner.RunAsync(forGpu);

        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Contains("on the gpu pool", result.StdoutTail, StringComparison.Ordinal);
        var defaultQueue = storage.Queues.GetQueueClient(RunnerStorage.JobQueue(names));
        var waiting = Assert.Single((await defaultQueue.PeekMessagesAsync(32)).Value);
        Assert.Equal(0, waiting.DequeueCount);
        Assert.Contains(forDefault.JobId, waiting.Body.ToString(), StringComparison.Ordinal);
        Assert.Null(await runner.Jobs.GetAsync(forDefault.JobId));

        var registry = runner.Services.GetRequiredService<IRunnerRegistry>();
        var row = (await registry.GetRunnersAsync()).Single(r => r.RunnerId == runner.RunnerId);
        Assert.Equal("gpu", row.Pool);
        Assert.Equal(Environment.ProcessorCount, row.Cores);
        Assert.Equal(2, row.Gpus);
    }

    [Fact]
    public async Task EnvironmentJobForAMissingBackend_IsHandedBackThenFailedAfterMaxDeliveries()
    {
        // No uv on this runner (nor on the test machine): the job comes back for another runner, then fails.
        await using var runner = await RunnerHarness.StartAsync(fixture.Azurite, new Dictionary<string, string?> { ["RUNNER_MAX_DEQUEUE"] = "2" });
        var capabilities = runner.Services.GetRequiredService<RunnerState>().CurrentCapabilities;
        Assert.True(capabilities is not null && !capabilities.Backends.Contains(EnvironmentBackend.Uv), "this test needs a runner without uv");
        var job = new CreateEnvironmentJob
        {
            JobId = RunnerHarness.NewId(),
            InstanceId = RunnerHarness.NewId("inst"),
            LogBlobName = "tests/" + RunnerHarness.NewId("log") + ".log",
            EnvironmentDirectory = Path.Combine(runner.Paths.Envs, "needs-uv"),
            Backend = EnvironmentBackend.Uv,
            Pool = "default",
        };

        var result = await runner.RunAsync(job, Within);

        Assert.Equal(JobStatus.Rejected, result.Status);
        Assert.Equal("delivered 2 times to runners of pool 'default' without the uv backend", result.Error);
        Assert.False(Directory.Exists(job.EnvironmentDirectory));
    }
}
