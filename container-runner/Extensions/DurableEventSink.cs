using System.Text.Json;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Durable;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EnvFabric.Runner.Extensions;

/// <summary>Reports job events as external events on the orchestration named by the job, through the durable client.</summary>
public sealed class DurableJobEventSink(DurableTaskClient client) : IJobEventSink
{
    public Task StartedAsync(string instanceId, JobStartedEvent payload, CancellationToken cancellationToken) =>
        client.RaiseEventAsync(instanceId, RunnerEvents.Started, payload, cancellationToken);

    public Task HeartbeatAsync(string instanceId, JobHeartbeatEvent payload, CancellationToken cancellationToken) =>
        client.RaiseEventAsync(instanceId, RunnerEvents.Heartbeat, payload, cancellationToken);

    public Task CompletedAsync(string instanceId, JobCompletedEvent payload, CancellationToken cancellationToken) =>
        client.RaiseEventAsync(instanceId, RunnerEvents.Completed, payload, cancellationToken);
}

/// <summary>Registration of the durable client (client only: the runner runs no orchestrations) and the sink.</summary>
public static class DurableEventSinkExtensions
{
    /// <summary>The Functions setting that overrides host.json's hub name.</summary>
    public const string HubNameSetting = "AzureFunctionsJobHost:extensions:durableTask:hubName";

    public static IServiceCollection AddDurableEventSink(this IServiceCollection services, IConfiguration configuration, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(IJobEventSink)))
        {
            return services;
        }

        var hubName = configuration[HubNameSetting] ?? HubNameFromHostJson(baseDirectory) ?? "EnvFabric";
        services.AddDurableTaskClient(o => o.HubName = hubName);
        services.AddOptions<DurableTaskOptions>().Configure<StorageAccount>((o, storage) =>
        {
            o.BlobServiceClient = storage.Blobs;
            o.QueueServiceClient = storage.Queues;
            o.TableServiceClient = storage.Tables;
        });
        services.TryAddSingleton<IJobEventSink, DurableJobEventSink>();
        return services;
    }

    /// <summary>The hub the host uses: <c>extensions.durableTask.hubName</c> of the host.json beside local.settings.json.</summary>
    private static string? HubNameFromHostJson(string baseDirectory)
    {
        var path = Path.Combine(baseDirectory, "host.json");
        if (!File.Exists(path))
        {
            return null;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        return document.RootElement.TryGetProperty("extensions", out var extensions)
            && extensions.TryGetProperty("durableTask", out var durable)
            && durable.TryGetProperty("hubName", out var hub) && hub.ValueKind == JsonValueKind.String
            ? hub.GetString()
            : null;
    }
}
