using EnvFabric.Core.Configuration;
using EnvFabric.Core.Storage;
using EnvFabric.Durable;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Configuration;
using EnvFabric.Functions.Http;
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
            .Configure<IOptions<HostJsonOptions>, IOptions<EnvFabricOptions>, StorageAccount>((o, host, settings, storage) =>
            {
                var durable = host.Value.Extensions.DurableTask;
                var provider = durable.StorageProvider;

                // ENVFABRIC_STORAGE_PREFIX isolates a deployment's task hub as it does its tables and queues.
                o.HubName = settings.Value.StoragePrefix + durable.HubName;
                o.PartitionCount = provider.PartitionCount;
                o.MaxQueuePollingInterval = provider.MaxQueuePollingInterval;
                o.ControlQueueBatchSize = provider.ControlQueueBatchSize;
                o.PartitionLeaseInterval = provider.PartitionLeaseInterval;
                o.ControlQueueVisibilityTimeout = provider.ControlQueueVisibilityTimeout;
                o.WorkItemQueueVisibilityTimeout = provider.WorkItemQueueVisibilityTimeout;
                o.UseAppLease = durable.UseAppLease;
                o.ExtendedSessionIdleTimeout = TimeSpan.FromSeconds(durable.ExtendedSessionIdleTimeoutInSeconds);
                o.MaxConcurrentActivities = durable.MaxConcurrentActivityFunctions;
                o.MaxConcurrentOrchestrations = durable.MaxConcurrentOrchestratorFunctions;
                o.ExtendedSessionsEnabled = durable.ExtendedSessionsEnabled;
                o.ManagementRoutePrefix = ManagementPrefix;
                o.UseStorage(storage.ConnectionString, storage.Blobs.Uri, storage.Queues.Uri, storage.Tables.Uri, storage.Credential);
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
        return endpoints.MapDurableTaskManagement(ManagementPrefix, (status, message) => ErrorBodies.Conda(status, message))
            .RequireAuthorization(AuthPolicies.Admin)
            .ExcludeFromDescription();
    }
}

/// <summary>The worker's state and the control-queue partitions it holds, read from the provider's lease table.</summary>
internal sealed class DurableWorkerHealthCheck(IDurableWorkerStatus worker, StorageAccount storage, IOptions<DurableTaskOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["worker_id"] = worker.WorkerId };
        if (worker.Failure is { } failure)
        {
            return HealthCheckResult.Unhealthy("durable worker stopped: " + failure.Message, failure, data);
        }

        if (!worker.IsRunning)
        {
            return HealthCheckResult.Unhealthy("durable worker not running", data: data);
        }

        // DTFx's table partition manager: one row per control queue in {hub}Partitions, CurrentOwner = worker id.
        var owned = new List<string>();
        var leases = storage.Tables.GetTableClient(options.Value.HubName + "Partitions");
        await foreach (var lease in leases.QueryAsync<Azure.Data.Tables.TableEntity>(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (string.Equals(lease.GetString("CurrentOwner"), worker.WorkerId, StringComparison.Ordinal))
            {
                owned.Add(lease.RowKey);
            }
        }

        data["partitions"] = owned.Order(StringComparer.Ordinal).ToArray();
        return HealthCheckResult.Healthy("durable worker running", data);
    }
}
