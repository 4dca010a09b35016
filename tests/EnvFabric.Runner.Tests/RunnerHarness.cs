using System.Collections.Concurrent;
using System.Diagnostics;
using Azure.Storage.Blobs;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Runner.Extensions;
using EnvFabric.Runner.Jobs;
using EnvFabric.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EnvFabric.Runner.Tests;

/// <summary>An in-process runner on Azurite with its own storage prefix and share directory, reporting to a <see cref="RecordingSink"/>.</summary>
public sealed class RunnerHarness : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly TempDirectory _share;

    private RunnerHarness(IHost host, TempDirectory share, RecordingSink sink)
    {
        _host = host;
        _share = share;
        Sink = sink;
    }

    public RecordingSink Sink { get; }

    public IServiceProvider Services => _host.Services;

    public DataPaths Paths => Services.GetRequiredService<DataPaths>();

    public IRunnerJobQueue Queue => Services.GetRequiredService<IRunnerJobQueue>();

    public RunnerJobTable Jobs => Services.GetRequiredService<RunnerJobTable>();

    public IRunnerControl Control => Services.GetRequiredService<IRunnerControl>();

    public string RunnerId => Services.GetRequiredService<RunnerState>().RunnerId;

    public BlobContainerClient Logs => Services.GetRequiredService<StorageAccount>().Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(Services.GetRequiredService<StorageNames>()));

    /// <summary>Settings every test runner gets; a harness's overrides win.</summary>
    public static Dictionary<string, string?> BaseSettings(AzuriteFixture azurite, string dataRoot, string prefix) => new()
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["DATA_ROOT"] = dataRoot,
        ["ENVFABRIC_STORAGE_PREFIX"] = prefix,
        ["MAX_CONCURRENT_TASKS"] = "8",
        ["RUNNER_JOB_HEARTBEAT_SECONDS"] = "0.5",
        ["RUNNER_HEARTBEAT_SECONDS"] = "0.5",
        ["RUNNER_STOP_GRACE_SECONDS"] = "1",
        ["RUNNER_CONTROL_POLL_MS"] = "50",
        ["RUNNER_SAMPLE_MS"] = "100",
    };

    /// <summary>Starts a runner; with <paramref name="durableEvents"/> it reports through the durable client instead of the recording sink.</summary>
    public static async Task<RunnerHarness> StartAsync(AzuriteFixture azurite, IDictionary<string, string?>? overrides = null, bool durableEvents = false)
    {
        var share = new TempDirectory("envfabric-share");
        var settings = BaseSettings(azurite, share.Path, AzuriteFixture.UniqueName("r"));
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var sink = new RecordingSink();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Development" });
        builder.Logging.AddFilter(level => level >= LogLevel.Warning);
        if (!durableEvents)
        {
            builder.Services.AddSingleton<IJobEventSink>(sink);
        }

        // Before AddRunner too: it reads the durable hub name while registering the client.
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddRunner();

        // Added last so they win over local.settings.json and the environment.
        builder.Configuration.AddInMemoryCollection(settings);
        var host = builder.Build();
        await host.StartAsync();
        return new RunnerHarness(host, share, sink);
    }

    /// <summary>Enqueues <paramref name="job"/> and waits for its JobCompleted.</summary>
    public async Task<JobResult> RunAsync(RunnerJob job, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        await Queue.EnqueueAsync(job);
        return await Sink.WaitForCompletedAsync(job.JobId, timeout ?? TimeSpan.FromSeconds(120));
    }

    public async Task<string> ReadLogAsync(string blobName)
    {
        var chunk = await RunnerLogs.ReadAsync(Logs, blobName, 0);
        return chunk.Text;
    }

    public static string NewId(string prefix = "job") => prefix + "-" + Guid.NewGuid().ToString("N")[..12];

    public ScriptJob Script(string workingDirectory, string environmentDirectory, string command, int? timeoutSeconds = null) => new()
    {
        JobId = NewId(),
        InstanceId = NewId("inst"),
        LogBlobName = "tests/" + NewId("log") + ".log",
        EnvironmentDirectory = environmentDirectory,
        Backend = EnvironmentBackend.Venv,
        WorkingDirectory = workingDirectory,
        Command = command,
        TimeoutSeconds = timeoutSeconds,
    };

    /// <summary>A fresh script directory on this runner's share holding <paramref name="files"/>.</summary>
    public string ScriptDirectory(params (string Name, string Content)[] files)
    {
        var dir = Path.Combine(Paths.Scripts, Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        foreach (var (name, content) in files)
        {
            File.WriteAllText(Path.Combine(dir, name), content);
        }

        return dir;
    }

    public static async Task<int> RunToolAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            await _host.StopAsync(cts.Token);
        }

        _host.Dispose();
        _share.Dispose();
    }
}

/// <summary>A real <see cref="IJobEventSink"/> that records every event with its arrival time.</summary>
public sealed class RecordingSink : IJobEventSink
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JobResult>> _completed = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JobStartedEvent>> _started = new();

    public ConcurrentQueue<(string Instance, string Name, string JobId, object Payload, DateTimeOffset At)> Events { get; } = new();

    public Task StartedAsync(string instanceId, JobStartedEvent payload, CancellationToken cancellationToken)
    {
        Events.Enqueue((instanceId, RunnerEvents.Started, payload.JobId, payload, DateTimeOffset.UtcNow));
        _started.GetOrAdd(payload.JobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(payload);
        return Task.CompletedTask;
    }

    public Task HeartbeatAsync(string instanceId, JobHeartbeatEvent payload, CancellationToken cancellationToken)
    {
        Events.Enqueue((instanceId, RunnerEvents.Heartbeat, payload.JobId, payload, DateTimeOffset.UtcNow));
        return Task.CompletedTask;
    }

    public Task CompletedAsync(string instanceId, JobCompletedEvent payload, CancellationToken cancellationToken)
    {
        Events.Enqueue((instanceId, RunnerEvents.Completed, payload.JobId, payload, DateTimeOffset.UtcNow));
        _completed.GetOrAdd(payload.JobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(payload.Result);
        return Task.CompletedTask;
    }

    public Task<JobResult> WaitForCompletedAsync(string jobId, TimeSpan timeout) =>
        _completed.GetOrAdd(jobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(timeout);

    public Task<JobStartedEvent> WaitForStartedAsync(string jobId, TimeSpan timeout) =>
        _started.GetOrAdd(jobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(timeout);

    public int Count(string jobId, string eventName) => Events.Count(e => e.JobId == jobId && e.Name == eventName);
}
