using DurableTask.AzureStorage;
using EnvFabric.Durable.Client;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EnvFabric.Durable.Tests;

/// <summary>A real worker (DTFx over Azurite) and client, on a task hub of its own, with short polling.</summary>
public sealed class DurableTestHost : IAsyncDisposable
{
    private readonly IHost _host;

    private DurableTestHost(IHost host, string hubName)
    {
        _host = host;
        HubName = hubName;
        Client = host.Services.GetRequiredService<AzureStorageDurableTaskClient>();
    }

    public string HubName { get; }

    public AzureStorageDurableTaskClient Client { get; }

    public IServiceProvider Services => _host.Services;

    public StepRecorder Recorder => _host.Services.GetRequiredService<StepRecorder>();

    public static string NewHubName() => "hub" + AzuriteFixture.UniqueName("d");

    public static void Configure(DurableTaskOptions options, AzuriteFixture azurite, string hubName)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(azurite);
        options.HubName = hubName;
        options.PartitionCount = 4;
        options.MaxQueuePollingInterval = TimeSpan.FromMilliseconds(250);
        options.StorageAccount = new StorageAccountClientProvider(azurite.ConnectionString);
    }

    public static async Task<DurableTestHost> StartAsync(AzuriteFixture azurite, Action<DurableTaskOptions>? configure = null, string? hubName = null, bool worker = true, Action<IServiceCollection>? services = null)
    {
        hubName ??= NewHubName();
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
        }
        else
        {
            builder.Services.AddDurableTaskClient(Options);
        }

        var host = builder.Build();
        await host.StartAsync();
        if (worker)
        {
            // The worker may start in the background; tests begin once it runs.
            var status = host.Services.GetRequiredService<IDurableWorkerStatus>();
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (!status.IsRunning)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("the durable worker did not start: " + status.Failure);
                }

                await Task.Delay(50);
            }
        }
        else
        {
            // No worker creates the hub's queues and tables; a client that starts instances needs them.
            await host.Services.GetRequiredService<AzureStorageOrchestrationService>().CreateIfNotExistsAsync();
        }

        return new DurableTestHost(host, hubName);
    }

    public async Task<OrchestrationMetadata> RunAsync(string name, object? input = null, string? instanceId = null, TimeSpan? timeout = null)
    {
        var id = await Client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(instanceId));
        return await WaitAsync(id, timeout);
    }

    public async Task<OrchestrationMetadata> WaitAsync(string instanceId, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(90));
        try
        {
            return await Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            var last = await Client.GetInstanceAsync(instanceId, false);
            throw new TimeoutException($"Instance {instanceId} did not finish in time; last status {last?.RuntimeStatus}");
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds for the instance (or fails after the timeout).</summary>
    public async Task<OrchestrationMetadata> WaitUntilAsync(string instanceId, Func<OrchestrationMetadata, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
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

            await Task.Delay(100);
        }
    }

    /// <summary>Polls the instance's history until an event of <paramref name="eventType"/> is in it.</summary>
    public async Task WaitForHistoryAsync(string instanceId, string eventType, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
        while (!(await Client.GetInstanceHistoryAsync(instanceId)).Any(e => e.EventType == eventType))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{eventType} never reached the history of {instanceId}");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _host.StopAsync(cts.Token);
        }
        finally
        {
            _host.Dispose();
        }
    }
}
