using System.Collections.Concurrent;
using System.Diagnostics;
using DurableTask.AzureStorage;
using EnvFabric.Durable;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EnvFabric.Bench;

/// <summary>
/// The durable runtime on Azurite with the host's default settings (host.json): throughput of many small
/// orchestrations, one long sequence, start latency on an idle worker, and a 1000-activity fan-out.
/// </summary>
public sealed class DurableBenchmarks : IBenchmarkSuite
{
    public string Name => "durable";

    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var extended = Environment.GetEnvironmentVariable("DURABLE_BENCH_EXTENDED_SESSIONS") == "1";

        await using (var host = await BenchHost.StartAsync(context.StorageConnectionString, extended))
        {
            var client = host.Client;
            var count = int.TryParse(Environment.GetEnvironmentVariable("DURABLE_BENCH_HELLO_COUNT"), out var n) ? n : 1000;
            var prefix = "hello-";
            var watch = Stopwatch.StartNew();
            using var azureLog = Environment.GetEnvironmentVariable("DURABLE_BENCH_LOG") is { Length: > 0 }
                ? Azure.Core.Diagnostics.AzureEventSourceListener.CreateConsoleLogger(Environment.GetEnvironmentVariable("DURABLE_BENCH_AZURE_LOG") == "1" ? System.Diagnostics.Tracing.EventLevel.Informational : System.Diagnostics.Tracing.EventLevel.Warning)
                : null;
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
                await client.ScheduleNewOrchestrationInstanceAsync(nameof(HelloSequence5), i, new StartOrchestrationOptions(prefix + i), ct));
            if (azureLog is not null)
            {
                await Console.Error.WriteLineAsync($"{DateTime.Now:HH:mm:ss.fff} scheduled {count} in {watch.Elapsed.TotalSeconds:0.0} s");
            }
            await WaitAllFinishedAsync(client, prefix, count);
            context.Report("durable.hello_sequence5.orchestrations_per_s", count / watch.Elapsed.TotalSeconds);
        }

        if (Environment.GetEnvironmentVariable("DURABLE_BENCH_HELLO_ONLY") == "1")
        {
            return;
        }

        await using (var host = await BenchHost.StartAsync(context.StorageConnectionString, extended))
        {
            var watch = Stopwatch.StartNew();
            var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(Sequence), 100);
            await host.Client.WaitForInstanceCompletionAsync(id);
            context.Report("durable.sequence100.activities_per_s", 100 / watch.Elapsed.TotalSeconds);
        }

        await using (var host = await BenchHost.StartAsync(context.StorageConnectionString, extended))
        {
            // Warm the worker, then measure from the schedule call to the first activity's start, idle in between.
            await host.Client.WaitForInstanceCompletionAsync(await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(FirstActivity)));
            var latencies = new List<double>();
            for (var i = 0; i < 60; i++)
            {
                await Task.Delay(250);
                var id = "latency-" + i;
                var started = Stopwatch.GetTimestamp();
                await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(FirstActivity), null, new StartOrchestrationOptions(id));
                var ran = await Mark.WaitAsync(id);
                latencies.Add(Stopwatch.GetElapsedTime(started, ran).TotalMilliseconds);
                await host.Client.WaitForInstanceCompletionAsync(id);
            }

            context.Report("durable.start_latency_ms.p50", BenchmarkSuites.Percentile(latencies, 50));
            context.Report("durable.start_latency_ms.p99", BenchmarkSuites.Percentile(latencies, 99));
        }

        await using (var host = await BenchHost.StartAsync(context.StorageConnectionString, extended))
        {
            var watch = Stopwatch.StartNew();
            var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(FanOut), 1000);
            var result = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true);
            if (result.ReadOutputAs<int>() != 1000)
            {
                throw new InvalidOperationException($"fan-out returned {result.SerializedOutput}");
            }

            context.Report("durable.fanout1000.seconds", watch.Elapsed.TotalSeconds);
        }
    }

    private static async Task WaitAllFinishedAsync(DurableTaskClient client, string prefix, int count)
    {
        // Point reads, one instance after another: a status query is a full table scan on Azurite and would
        // load the emulator more than the runtime under test.
        for (var i = 0; i < count; i++)
        {
            while (true)
            {
                var instance = await client.GetInstanceAsync(prefix + i);
                if (instance is { IsCompleted: true })
                {
                    if (instance.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
                    {
                        throw new InvalidOperationException($"instance {instance.InstanceId} ended {instance.RuntimeStatus}: {instance.FailureDetails}");
                    }

                    break;
                }

                await Task.Delay(50);
            }
        }
    }

    private sealed class BenchHost : IAsyncDisposable
    {
        private readonly IHost _host;

        private BenchHost(IHost host) => _host = host;

        public DurableTaskClient Client => _host.Services.GetRequiredService<DurableTaskClient>();

        public static async Task<BenchHost> StartAsync(string storage, bool extendedSessions)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            if (Environment.GetEnvironmentVariable("DURABLE_BENCH_LOG") is { Length: > 0 } level)
            {
                builder.Logging.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ").SetMinimumLevel(Enum.Parse<LogLevel>(level));
            }

            builder.Services.AddDurableTask(
                o =>
                {
                    // The host's defaults (host.json); a fresh hub per measurement.
                    o.HubName = "bench" + Guid.NewGuid().ToString("N")[..12];
                    o.ExtendedSessionsEnabled = extendedSessions;
                    o.StorageAccount = new StorageAccountClientProvider(storage);
                },
                r => r.AddOrchestrator<HelloSequence5>().AddOrchestrator<Sequence>().AddOrchestrator<FirstActivity>().AddOrchestrator<FanOut>()
                    .AddActivity<NoOp>().AddActivity<MarkStarted>());
            var host = builder.Build();
            await host.StartAsync();
            return new BenchHost(host);
        }

        public async ValueTask DisposeAsync()
        {
            await _host.StopAsync();
            _host.Dispose();
        }
    }

    private static class Mark
    {
        private static readonly ConcurrentDictionary<string, TaskCompletionSource<long>> Marks = new();

        public static void Set(string id) => Marks.GetOrAdd(id, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(Stopwatch.GetTimestamp());

        public static Task<long> WaitAsync(string id) => Marks.GetOrAdd(id, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private sealed class NoOp : TaskActivity<int, int>
    {
        public override Task<int> RunAsync(TaskActivityContext context, int input) => Task.FromResult(input);
    }

    private sealed class MarkStarted : TaskActivity<object?, object?>
    {
        public override Task<object?> RunAsync(TaskActivityContext context, object? input)
        {
            Mark.Set(context.InstanceId);
            return Task.FromResult<object?>(null);
        }
    }

    private sealed class HelloSequence5 : TaskOrchestrator<int, int>
    {
        public override async Task<int> RunAsync(TaskOrchestrationContext context, int input)
        {
            var sum = 0;
            for (var i = 0; i < 5; i++)
            {
                sum += await context.CallActivityAsync<int>(nameof(NoOp), i);
            }

            return sum;
        }
    }

    private sealed class Sequence : TaskOrchestrator<int, int>
    {
        public override async Task<int> RunAsync(TaskOrchestrationContext context, int input)
        {
            for (var i = 0; i < input; i++)
            {
                await context.CallActivityAsync<int>(nameof(NoOp), i);
            }

            return input;
        }
    }

    private sealed class FirstActivity : TaskOrchestrator<object?, int>
    {
        public override async Task<int> RunAsync(TaskOrchestrationContext context, object? input)
        {
            await context.CallActivityAsync(nameof(MarkStarted));
            return 1;
        }
    }

    private sealed class FanOut : TaskOrchestrator<int, int>
    {
        public override async Task<int> RunAsync(TaskOrchestrationContext context, int input)
        {
            var results = await Task.WhenAll(Enumerable.Range(0, input).Select(i => context.CallActivityAsync<int>(nameof(NoOp), i)));
            return results.Length;
        }
    }
}
