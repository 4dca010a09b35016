using System.Diagnostics;
using System.Text.Json;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EnvFabric.Functions.Extensions;

/// <summary>
/// <c>GET /api/health</c>: each component's state; 200 when all are up, 503 naming what is down. Components
/// register as ASP.NET Core health checks, so the runner, the durable hub and others add their own.
/// </summary>
public static class HealthExtensions
{
    /// <summary>
    /// Longest a component may take to answer. The storage SDK retries a refused connection for tens of
    /// seconds; a health probe must say "down" well before a load balancer gives up on it.
    /// </summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    public static IHealthChecksBuilder AddFunctionsHealth(this IServiceCollection services)
    {
        // Applies to every registration, including those other components add later, unless they set their own.
        services.PostConfigure<HealthCheckServiceOptions>(options =>
        {
            foreach (var registration in options.Registrations.Where(r => r.Timeout == Timeout.InfiniteTimeSpan))
            {
                registration.Timeout = CheckTimeout;
            }
        });
        return services.AddHealthChecks()
            .AddCheck<TableStorageHealthCheck>("tables", tags: ["storage"])
            .AddCheck<QueueStorageHealthCheck>("queues", tags: ["storage"])
            .AddCheck<BlobStorageHealthCheck>("blobs", tags: ["storage"])
            .AddCheck<ShareHealthCheck>("share")
            // Unhealthy, not degraded: without a live runner no environment or script job can run.
            .AddRunnerCheck();
    }

    public static IEndpointRouteBuilder MapHealthFunctions(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/health", GetHealth)
            .WithName("Health")
            .WithTags("System")
            .AllowAnonymous()
            .WithSummary("Each component's state; 503 names what is down.");
        return app;
    }

    public static async Task<IResult> GetHealth(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(cancellationToken);
        var components = report.Entries.Select(e => new HealthComponent(
            e.Key,
            e.Value.Status == HealthStatus.Healthy ? "ok" : e.Value.Status == HealthStatus.Degraded ? "degraded" : "down",
            e.Value.Description ?? e.Value.Exception?.Message,
            Math.Round(e.Value.Duration.TotalMilliseconds, 1),
            e.Value.Data.Count == 0 ? null : e.Value.Data.ToDictionary(d => d.Key, d => d.Value))).ToList();
        var down = components.Where(c => c.Status == "down").Select(c => c.Name).ToList();
        var body = new HealthBody(down.Count == 0 ? "healthy" : "unhealthy", components, down.Count == 0 ? null : down);
        return TypedResults.Json(body, statusCode: down.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    public sealed record HealthBody(string Status, IReadOnlyList<HealthComponent> Components, IReadOnlyList<string>? Down);

    public sealed record HealthComponent(string Name, string Status, string? Description, double DurationMs, IReadOnlyDictionary<string, object>? Data);
}

/// <summary>A storage service is up when one cheap call to it succeeds.</summary>
internal abstract class StorageProbeHealthCheck(StorageAccount storage, string service) : IHealthCheck
{
    protected abstract Task ProbeAsync(StorageAccount account, CancellationToken cancellationToken);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await ProbeAsync(storage, cancellationToken);
            return HealthCheckResult.Healthy(storage.Description);
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or HttpRequestException or AggregateException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy($"{service} service unreachable: {ex.Message}");
        }
    }
}

internal sealed class TableStorageHealthCheck(StorageAccount storage) : StorageProbeHealthCheck(storage, "Table")
{
    protected override async Task ProbeAsync(StorageAccount account, CancellationToken cancellationToken)
    {
        await foreach (var _ in account.Tables.QueryAsync(maxPerPage: 1, cancellationToken: cancellationToken).AsPages(pageSizeHint: 1))
        {
            break;
        }
    }
}

internal sealed class QueueStorageHealthCheck(StorageAccount storage) : StorageProbeHealthCheck(storage, "Queue")
{
    protected override Task ProbeAsync(StorageAccount account, CancellationToken cancellationToken) =>
        account.Queues.GetPropertiesAsync(cancellationToken);
}

internal sealed class BlobStorageHealthCheck(StorageAccount storage) : StorageProbeHealthCheck(storage, "Blob")
{
    protected override Task ProbeAsync(StorageAccount account, CancellationToken cancellationToken) =>
        account.Blobs.GetPropertiesAsync(cancellationToken);
}

/// <summary>The share is up when DATA_ROOT exists and a file can be written and removed there.</summary>
internal sealed class ShareHealthCheck(DataPaths paths) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var probe = Path.Combine(paths.DataRoot, $".health-{Environment.ProcessId}-{Stopwatch.GetTimestamp()}");
        try
        {
            Directory.CreateDirectory(paths.DataRoot);
            await File.WriteAllTextAsync(probe, JsonSerializer.Serialize(DateTimeOffset.UtcNow), cancellationToken);
            File.Delete(probe);
            return HealthCheckResult.Healthy(paths.DataRoot);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return HealthCheckResult.Unhealthy($"Share at {paths.DataRoot} is not writable: {ex.Message}");
        }
    }
}
