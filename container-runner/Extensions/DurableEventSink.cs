using System.Text.Json;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Durable;
using Microsoft.DurableTask.Client;
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

    /// <summary>The Functions setting that overrides host.json's partition count (the client must agree with the host on it).</summary>
    public const string PartitionCountSetting = "AzureFunctionsJobHost:extensions:durableTask:storageProvider:partitionCount";

    public static IServiceCollection AddDurableEventSink(this IServiceCollection services, IConfiguration configuration, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(IJobEventSink)))
        {
            return services;
        }

        // Events go to the control queue of the instance's partition: hub and partition count must be the host's.
        var hostJson = ReadHostJsonDurable(baseDirectory);
        var partitionText = configuration[PartitionCountSetting];
        var partitions = string.IsNullOrEmpty(partitionText)
            ? hostJson.PartitionCount ?? 4
            : (int)SettingValue.Parse("Setting AzureFunctionsJobHost__extensions__durableTask__storageProvider__partitionCount", partitionText, typeof(int))!;
        services.AddDurableTaskClient(o =>
        {
            // Read when the client is built, so configuration sources added after this call count too. As the
            // host: ENVFABRIC_STORAGE_PREFIX prefixes the task hub's name.
            o.HubName = configuration["ENVFABRIC_STORAGE_PREFIX"] + (configuration[HubNameSetting] ?? hostJson.HubName ?? "EnvFabric");
            o.PartitionCount = partitions;
        });
        services.AddOptions<DurableTaskOptions>().Configure<StorageAccount>((o, storage) =>
        {
            o.UseStorage(storage.ConnectionString, storage.Blobs.Uri, storage.Queues.Uri, storage.Tables.Uri, storage.Credential);
        });
        services.TryAddSingleton<IJobEventSink, DurableJobEventSink>();
        return services;
    }

    /// <summary><c>extensions.durableTask</c> of the host.json beside local.settings.json, when there is one.</summary>
    private static (string? HubName, int? PartitionCount) ReadHostJsonDurable(string baseDirectory)
    {
        var path = Path.Combine(baseDirectory, "host.json");
        if (!File.Exists(path))
        {
            return (null, null);
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (!document.RootElement.TryGetProperty("extensions", out var extensions) || !extensions.TryGetProperty("durableTask", out var durable))
        {
            return (null, null);
        }

        var hub = durable.TryGetProperty("hubName", out var h) && h.ValueKind == JsonValueKind.String ? h.GetString() : null;
        int? partitions = durable.TryGetProperty("storageProvider", out var provider) && provider.TryGetProperty("partitionCount", out var pc) && pc.TryGetInt32(out var count) ? count : null;
        return (hub, partitions);
    }
}
