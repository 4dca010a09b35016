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
/// The durable engine (DTFx's Azure Storage provider) on Azurite: throughput of many small orchestrations, one
/// long sequence, start latency on an idle worker, and a 1000-activity fan-out. Provider settings are those of
/// <see cref="BenchSettings"/> (the host's defaults except extended sessions and concurrency), each overridable by a
/// <c>DURABLE_BENCH_*</c> variable, so other configurations can be measured with the same code.
/// </summary>
public sealed class DurableBenchmarks : IBenchmarkSuite
{
    public string Name => "durable";

    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var settings = BenchSettings.FromEnvironment();
        await Console.Error.WriteLineAsync($"durable bench settings: {settings}");
        // DURABLE_BENCH_PARTS=hello,sequence,latency,fanout runs only those measurements (all by default).
        var parts = Environment.GetEnvironmentVariable("DURABLE_BENCH_PARTS") is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.OrdinalIgnoreCase)
            : Environment.GetEnvironmentVariable("DURABLE_BENCH_HELLO_ONLY") == "1" ? ["hello"] : ["hello", "sequence", "latency", "fanout"];
        var storage = context.StorageConnectionString;
        if (parts.Contains("hello"))
        {
            await HelloSequence5Async(context, storage, settings);
        }

        if (parts.Contains("sequence"))
        {
            await Sequence100Async(context, storage, settings);
        }

        if (parts.Contains("latency"))
        {
            await StartLatencyAsync(context, storage, settings);
        }

        if (parts.Contains("fanout"))
        {
            await FanOut1000Async(context, storage, settings);
        }
    }

    private static async Task HelloSequence5Async(BenchContext context, string storage, BenchSettings settings)
    {
        await using var host = await BenchHost.StartAsync(storage, settings);
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

    private static async Task Sequence100Async(BenchContext context, string storage, BenchSettings settings)
    {
        await using var host = await BenchHost.StartAsync(storage, settings);
        var watch = Stopwatch.StartNew();
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(Sequence), 100);
        await WaitFinishedAsync(host.Client, id);
        context.Report("durable.sequence100.activities_per_s", 100 / watch.Elapsed.TotalSeconds);
    }

    private static async Task StartLatencyAsync(BenchContext context, string storage, BenchSettings settings)
    {
        await using var host = await BenchHost.StartAsync(storage, settings);
        // Warm the worker on every partition (an instance per control queue, so that the worker owns and polls them
        // all), then measure from the schedule call to the first activity's start, idle in between.
        foreach (var warmId in WarmUpIds(settings.PartitionCount))
        {
            await host.Client.WaitForInstanceCompletionAsync(await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(FirstActivity), null, new StartOrchestrationOptions(warmId)));
        }

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

    /// <summary>Instance ids that land on each partition in turn (DTFx: FNV-1a of the UTF-8 id, modulo the partition count).</summary>
    private static IEnumerable<string> WarmUpIds(int partitionCount)
    {
        var seen = new HashSet<uint>();
        for (var i = 0; seen.Count < partitionCount; i++)
        {
            var id = "warm-" + i;
            var hash = 2166136261u;
            foreach (var b in System.Text.Encoding.UTF8.GetBytes(id))
            {
                hash = unchecked((hash ^ b) * 16777619u);
            }

            if (seen.Add(hash % (uint)partitionCount))
            {
                yield return id;
            }
        }
    }

    private static async Task FanOut1000Async(BenchContext context, string storage, BenchSettings settings)
    {
        await using var host = await BenchHost.StartAsync(storage, settings);
        var watch = Stopwatch.StartNew();
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(FanOut), 1000);
        await WaitFinishedAsync(host.Client, id);
        context.Report("durable.fanout1000.seconds", watch.Elapsed.TotalSeconds);
        var result = await host.Client.GetInstanceAsync(id, getInputsAndOutputs: true);
        if (result?.ReadOutputAs<int>() != 1000)
        {
            throw new InvalidOperationException($"fan-out returned {result?.SerializedOutput}");
        }
    }

    /// <summary>
    /// Waits for one instance with point reads every 20 ms: the client's own wait backs off to 500 ms between
    /// reads, which would add up to half a second to a measurement of one or two seconds.
    /// </summary>
    private static async Task WaitFinishedAsync(DurableTaskClient client, string id)
    {
        while (true)
        {
            var instance = await client.GetInstanceAsync(id);
            if (instance is { IsCompleted: true })
            {
                if (instance.RuntimeStatus != OrchestrationRuntimeStatus.Completed)
                {
                    throw new InvalidOperationException($"instance {instance.InstanceId} ended {instance.RuntimeStatus}: {instance.FailureDetails}");
                }

                return;
            }

            await Task.Delay(20);
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

            if ((i + 1) % 100 == 0)
            {
                // Progress on stderr, to tell a slow run from a stalled one.
                await Console.Error.WriteLineAsync($"{DateTime.Now:HH:mm:ss} {i + 1} of {count} completed");
            }
        }
    }

    private sealed class BenchHost : IAsyncDisposable
    {
        private readonly IHost _host;

        private BenchHost(IHost host) => _host = host;

        public DurableTaskClient Client => _host.Services.GetRequiredService<DurableTaskClient>();

        public static async Task<BenchHost> StartAsync(string storage, BenchSettings settings)
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
                    // A fresh hub per measurement.
                    o.HubName = "bench" + Guid.NewGuid().ToString("N")[..12];
                    settings.ApplyTo(o);
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

    /// <summary>
    /// Provider settings of a run. Partitions, polling interval and batch size are the host's defaults
    /// (<see cref="DurableTaskOptions"/>); extended sessions are on, with 1000 concurrent orchestrations (an in-memory
    /// session holds a slot, and 100 slots starved the other instances of hello_sequence5) and 50 concurrent
    /// activities (the bench's activities do nothing; the host's are container jobs). Each is overridden by its
    /// variable: <c>DURABLE_BENCH_PARTITIONS</c>, <c>DURABLE_BENCH_POLL_MS</c> (max queue polling interval),
    /// <c>DURABLE_BENCH_BATCH</c> (control-queue batch size), <c>DURABLE_BENCH_EXTENDED_SESSIONS</c> (1 or 0),
    /// <c>DURABLE_BENCH_MAX_ORCHESTRATIONS</c>, <c>DURABLE_BENCH_MAX_ACTIVITIES</c>.
    /// </summary>
    private sealed record BenchSettings(int PartitionCount, TimeSpan MaxQueuePollingInterval, int ControlQueueBatchSize, bool ExtendedSessionsEnabled, int MaxConcurrentOrchestrations, int MaxConcurrentActivities)
    {
        public static BenchSettings FromEnvironment()
        {
            var defaults = new DurableTaskOptions();
            return new BenchSettings(
                Int("DURABLE_BENCH_PARTITIONS") ?? defaults.PartitionCount,
                Int("DURABLE_BENCH_POLL_MS") is { } ms ? TimeSpan.FromMilliseconds(ms) : defaults.MaxQueuePollingInterval,
                Int("DURABLE_BENCH_BATCH") ?? defaults.ControlQueueBatchSize,
                Int("DURABLE_BENCH_EXTENDED_SESSIONS") is { } extended ? extended == 1 : true,
                Int("DURABLE_BENCH_MAX_ORCHESTRATIONS") ?? 1000,
                Int("DURABLE_BENCH_MAX_ACTIVITIES") ?? 50);
        }

        public void ApplyTo(DurableTaskOptions options)
        {
            options.PartitionCount = PartitionCount;
            options.MaxQueuePollingInterval = MaxQueuePollingInterval;
            options.ControlQueueBatchSize = ControlQueueBatchSize;
            options.ExtendedSessionsEnabled = ExtendedSessionsEnabled;
            options.MaxConcurrentOrchestrations = MaxConcurrentOrchestrations;
            options.MaxConcurrentActivities = MaxConcurrentActivities;
        }

        private static int? Int(string name) =>
            int.TryParse(Environment.GetEnvironmentVariable(name), System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : null;
    }
}
