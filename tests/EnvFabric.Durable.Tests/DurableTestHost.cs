using EnvFabric.Durable.Worker;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EnvFabric.Durable.Tests;

/// <summary>A real worker and client on Azurite, on a hub of its own, with short polling and leases.</summary>
public sealed class DurableTestHost : IAsyncDisposable
{
    private readonly IHost _host;

    private DurableTestHost(IHost host, string hubName)
    {
        _host = host;
        HubName = hubName;
        Client = host.Services.GetRequiredService<DurableTaskClient>();
    }

    public string HubName { get; }

    public DurableTaskClient Client { get; }

    public IServiceProvider Services => _host.Services;

    internal IReadOnlyCollection<int> OwnedPartitions => _host.Services.GetRequiredService<DurableTaskWorker>().OwnedPartitions;

    public static void Configure(DurableTaskOptions options, AzuriteFixture azurite, string hubName)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(azurite);
        options.HubName = hubName;
        options.PartitionCount = 4;
        options.MaxQueuePollingInterval = TimeSpan.FromMilliseconds(250);
        options.PartitionLeaseInterval = TimeSpan.FromSeconds(2);
        options.ControlQueueVisibilityTimeout = TimeSpan.FromSeconds(20);
        options.WorkItemVisibilityTimeout = TimeSpan.FromSeconds(20);
        options.BlobServiceClient = azurite.Blobs;
        options.QueueServiceClient = azurite.Queues;
        options.TableServiceClient = azurite.Tables;
    }

    public static async Task<DurableTestHost> StartAsync(AzuriteFixture azurite, Action<DurableTaskOptions>? configure = null, string? hubName = null, bool worker = true, Action<IDurableTaskBuilder>? extra = null, Action<IServiceCollection>? services = null)
    {
        hubName ??= "hub" + AzuriteFixture.UniqueName("d");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton<StepRecorder>();
        services?.Invoke(builder.Services);
        void Options(DurableTaskOptions o)
        {
            Configure(o, azurite, hubName);
            configure?.Invoke(o);
        }

        if (worker)
        {
            builder.Services.AddDurableTask(Options, TestTasks.Register);
            if (extra is not null)
            {
                extra(builder.Services.AddDurableTaskRegistrations());
            }
        }
        else
        {
            builder.Services.AddDurableTaskClient(Options);
        }

        var host = builder.Build();
        await host.StartAsync();
        return new DurableTestHost(host, hubName);
    }

    public async Task<OrchestrationMetadata> RunAsync(string name, object? input = null, string? instanceId = null, TimeSpan? timeout = null)
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(instanceId));
        return await WaitAsync(id, timeout);
    }

    public async Task<OrchestrationMetadata> WaitAsync(string instanceId, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        return await Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, cts.Token);
    }

    /// <summary>Polls until <paramref name="condition"/> holds for the instance (or fails after the timeout).</summary>
    public async Task<OrchestrationMetadata> WaitUntilAsync(string instanceId, Func<OrchestrationMetadata, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var metadata = await Client.GetInstanceAsync(instanceId, true);
            if (metadata is not null && condition(metadata))
            {
                return metadata;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Instance {instanceId} did not reach the expected state; last status {metadata?.RuntimeStatus}");
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StopAsync(cts.Token);
        _host.Dispose();
    }
}
