using EnvFabric.Core.Storage;
using EnvFabric.Durable;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions.Extensions;

/// <summary>
/// The durable runtime in the host, as the Durable Functions extension: settings from host.json
/// <c>extensions.durableTask</c>, storage from AzureWebJobsStorage, the worker as a hosted service and the HTTP
/// management API under <c>/runtime/webhooks/durabletask</c> (admin key).
/// </summary>
public static class DurableExtensions
{
    public const string ManagementPrefix = "/runtime/webhooks/durabletask";

    public static WebApplicationBuilder AddDurableTaskHost(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddDurableTask();
        builder.Services.AddOptions<DurableTaskOptions>()
            .Configure<IOptions<HostJsonOptions>, StorageAccount>((o, host, storage) =>
            {
                var durable = host.Value.Extensions.DurableTask;
                var provider = durable.StorageProvider;
                o.HubName = durable.HubName;
                o.PartitionCount = provider.PartitionCount;
                o.MaxQueuePollingInterval = provider.MaxQueuePollingInterval;
                o.ControlQueueBatchSize = provider.ControlQueueBatchSize;
                o.PartitionLeaseInterval = provider.PartitionLeaseInterval;
                o.MaxConcurrentActivities = durable.MaxConcurrentActivityFunctions;
                o.MaxConcurrentOrchestrations = durable.MaxConcurrentOrchestratorFunctions;
                o.ExtendedSessionsEnabled = durable.ExtendedSessionsEnabled;
                o.ManagementRoutePrefix = ManagementPrefix;
                o.BlobServiceClient = storage.Blobs;
                o.QueueServiceClient = storage.Queues;
                o.TableServiceClient = storage.Tables;
            });
        builder.Services.AddHealthChecks().AddCheck<DurableWorkerHealthCheck>("durable");
        return builder;
    }

    /// <summary>
    /// Maps the management API at the root (as Functions does, outside the HTTP route prefix), admin key required.
    /// </summary>
    public static RouteGroupBuilder MapDurableManagementFunctions(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapDurableTaskManagement(ManagementPrefix)
            .RequireAuthorization(AuthPolicies.Admin)
            .ExcludeFromDescription();
    }
}

internal sealed class DurableWorkerHealthCheck(IDurableWorkerStatus worker) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["worker_id"] = worker.WorkerId,
            ["partitions"] = worker.OwnedPartitions.Order().ToArray(),
        };
        return Task.FromResult(worker.Failure is { } failure
            ? HealthCheckResult.Unhealthy("durable worker stopped: " + failure.Message, failure, data)
            : HealthCheckResult.Healthy("durable worker running", data));
    }
}
