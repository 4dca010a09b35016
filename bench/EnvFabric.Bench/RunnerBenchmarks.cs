using System.Collections.Concurrent;
using System.Diagnostics;
using EnvFabric.Core.Runner;
using EnvFabric.Runner.Extensions;
using EnvFabric.Testing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EnvFabric.Bench;

/// <summary>
/// <c>runner</c>: the runner in-process on Azurite, reporting through the durable client (a real
/// RaiseEventAsync into a hub's control queue), with jobs in a venv on a temporary share.
/// <list type="bullet">
/// <item><c>runner.dispatch_overhead_ms.p50/.p99</c>: 200 jobs of <c>python -c pass</c>, one at a time; per job
/// (enqueue -> process started) + (process exited -> JobCompleted raised), so Python's own start-up is excluded.</item>
/// <item><c>runner.process_lifetime_ms.p50</c>: the same jobs from process started to process exited, as the runner
/// sees them: Python's start-up plus whatever the launch path adds around it.</item>
/// <item><c>runner.sequential40.seconds</c>: 40 jobs of a ~10 ms Python task, each enqueued when the previous one
/// completed, first enqueue to last completion; the median of 5 rounds.</item>
/// </list>
/// </summary>
public sealed class RunnerBenchmarks : IBenchmarkSuite
{
    public string Name => "runner";

    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var share = new TempDirectory("envfabric-bench-runner");
        var settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = context.StorageConnectionString,
            ["DATA_ROOT"] = share.Path,
            ["ENVFABRIC_STORAGE_PREFIX"] = AzuriteFixture.UniqueName("b"),
            [DurableEventSinkExtensions.HubNameSetting] = "bench" + Guid.NewGuid().ToString("N")[..10],
        };
        var timing = new TimingSink();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddFilter(level => level >= LogLevel.Warning).AddConsole();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddRunner();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.Replace(ServiceDescriptor.Singleton<IJobEventSink>(sp => timing.Wrap(new DurableJobEventSink(sp.GetRequiredService<DurableTaskClient>()))));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var env = Path.Combine(share.Path, "envs", "bench");
            var venv = Process.Start("python3", ["-m", "venv", "--without-pip", Path.Combine(env, ".venv")]);
            await venv.WaitForExitAsync();
            var work = Path.Combine(share.Path, "scripts", "bench");
            Directory.CreateDirectory(work);
            var queue = host.Services.GetRequiredService<IRunnerJobQueue>();

            async Task<(JobResult Result, DateTimeOffset Enqueued, DateTimeOffset Delivered)> RunOneAsync(string command)
            {
                var job = new ScriptJob
                {
                    JobId = Guid.NewGuid().ToString("N"),
                    InstanceId = "bench-" + Guid.NewGuid().ToString("N")[..8],
                    LogBlobName = "bench/" + Guid.NewGuid().ToString("N") + ".log",
                    EnvironmentDirectory = env,
                    WorkingDirectory = work,
                    Command = command,
                };
                var completion = timing.Expect(job.JobId);
                var enqueued = DateTimeOffset.UtcNow;
                await queue.EnqueueAsync(job);
                var (result, delivered) = await completion.WaitAsync(TimeSpan.FromSeconds(60));
                return (result, enqueued, delivered);
            }

            if (Environment.GetEnvironmentVariable("ENVFABRIC_BENCH_DETAIL") == "1")
            {
                await ReportStorageLatencyAsync(context, host.Services);
            }

            // Warm-up: JIT, connections, the hub's queues.
            for (var i = 0; i < 10; i++)
            {
                await RunOneAsync("python -c pass");
            }

            var overheads = new List<double>();
            var toStart = new List<double>();
            var toDelivered = new List<double>();
            var pickup = new List<double>();
            var spawn = new List<double>();
            var wrapUp = new List<double>();
            var lifetime = new List<double>();
            for (var i = 0; i < 200; i++)
            {
                var (result, enqueued, delivered) = await RunOneAsync("python -c pass");
                if (result.Status != JobStatus.Succeeded || result.ProcessStartedAt is null || result.ProcessExitedAt is null)
                {
                    throw new InvalidOperationException($"bench job failed: {result.Status} {result.Error}");
                }

                toStart.Add((result.ProcessStartedAt.Value - enqueued).TotalMilliseconds);
                toDelivered.Add((delivered - result.ProcessExitedAt.Value).TotalMilliseconds);
                overheads.Add(toStart[^1] + toDelivered[^1]);
                pickup.Add((result.StartedAt - enqueued).TotalMilliseconds);
                spawn.Add((result.ProcessStartedAt.Value - result.StartedAt).TotalMilliseconds);
                wrapUp.Add((result.FinishedAt - result.ProcessExitedAt.Value).TotalMilliseconds);
                lifetime.Add((result.ProcessExitedAt.Value - result.ProcessStartedAt.Value).TotalMilliseconds);
            }

            context.Report("runner.dispatch_overhead_ms.p50", BenchmarkSuites.Percentile(overheads, 50));
            context.Report("runner.dispatch_overhead_ms.p99", BenchmarkSuites.Percentile(overheads, 99));
            context.Report("runner.dispatch_enqueue_to_start_ms.p50", BenchmarkSuites.Percentile(toStart, 50));
            context.Report("runner.dispatch_exit_to_completed_ms.p50", BenchmarkSuites.Percentile(toDelivered, 50));
            context.Report("runner.process_lifetime_ms.p50", BenchmarkSuites.Percentile(lifetime, 50));
            if (Environment.GetEnvironmentVariable("ENVFABRIC_BENCH_DETAIL") == "1")
            {
                context.Report("runner.detail.enqueue_to_taken_ms.p50", BenchmarkSuites.Percentile(pickup, 50));
                context.Report("runner.detail.taken_to_spawned_ms.p50", BenchmarkSuites.Percentile(spawn, 50));
                context.Report("runner.detail.exit_to_result_ms.p50", BenchmarkSuites.Percentile(wrapUp, 50));
            }

            var rounds = new List<double>();
            for (var round = 0; round < 5; round++)
            {
                var watch = Stopwatch.StartNew();
                for (var i = 0; i < 40; i++)
                {
                    var (result, _, _) = await RunOneAsync("python -c \"import time; time.sleep(0.01)\"");
                    if (result.Status != JobStatus.Succeeded)
                    {
                        throw new InvalidOperationException($"bench job failed: {result.Status} {result.Error}");
                    }
                }

                rounds.Add(watch.Elapsed.TotalSeconds);
            }

            context.Report("runner.sequential40.seconds", BenchmarkSuites.Percentile(rounds, 50));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    /// <summary>Round trips of the storage calls on the dispatch path, for reading the overhead figures.</summary>
    private static async Task ReportStorageLatencyAsync(BenchContext context, IServiceProvider services)
    {
        var storage = services.GetRequiredService<EnvFabric.Core.Storage.StorageAccount>();
        var queue = storage.Queues.GetQueueClient("latency" + Guid.NewGuid().ToString("N")[..8]);
        await queue.CreateAsync();
        var jobs = services.GetRequiredService<RunnerJobTable>();
        var send = new List<double>();
        var receive = new List<double>();
        var get = new List<double>();
        for (var i = 0; i < 50; i++)
        {
            var w = Stopwatch.StartNew();
            await queue.SendMessageAsync("x");
            send.Add(w.Elapsed.TotalMilliseconds);
            w.Restart();
            await queue.ReceiveMessagesAsync(1);
            receive.Add(w.Elapsed.TotalMilliseconds);
            w.Restart();
            await jobs.GetAsync("nope" + i);
            get.Add(w.Elapsed.TotalMilliseconds);
        }

        context.Report("runner.detail.queue_send_ms.p50", BenchmarkSuites.Percentile(send, 50));
        context.Report("runner.detail.queue_receive_ms.p50", BenchmarkSuites.Percentile(receive, 50));
        context.Report("runner.detail.table_get_ms.p50", BenchmarkSuites.Percentile(get, 50));
        await queue.DeleteAsync();
    }

    /// <summary>Times when each JobCompleted has been handed to the durable client and stored.</summary>
    private sealed class TimingSink
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource<(JobResult, DateTimeOffset)>> _waiting = new();

        public Task<(JobResult Result, DateTimeOffset Delivered)> Expect(string jobId) =>
            _waiting.GetOrAdd(jobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

        public IJobEventSink Wrap(IJobEventSink inner) => new Sink(inner, this);

        private sealed class Sink(IJobEventSink inner, TimingSink owner) : IJobEventSink
        {
            public Task StartedAsync(string instanceId, JobStartedEvent payload, CancellationToken cancellationToken) => inner.StartedAsync(instanceId, payload, cancellationToken);

            public Task HeartbeatAsync(string instanceId, JobHeartbeatEvent payload, CancellationToken cancellationToken) => inner.HeartbeatAsync(instanceId, payload, cancellationToken);

            public async Task CompletedAsync(string instanceId, JobCompletedEvent payload, CancellationToken cancellationToken)
            {
                await inner.CompletedAsync(instanceId, payload, cancellationToken);
                var delivered = DateTimeOffset.UtcNow;
                owner._waiting.GetOrAdd(payload.JobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult((payload.Result, delivered));
            }
        }
    }
}
