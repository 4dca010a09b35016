using Microsoft.Extensions.Diagnostics.HealthChecks;
using EnvFabric.Functions.Http;

namespace EnvFabric.Functions;

/// <summary>One component in <c>GET /v2/status</c>; <c>message</c> says why a component is down.</summary>
public sealed record V2Component(string Name, string Status, string? Message);

/// <summary>The data of <c>GET /v2/status</c>.</summary>
public sealed record V2Status(string Status, IReadOnlyList<V2Component> Components);

/// <summary>
/// Seed 002's system status: the health checks of <c>/api/health</c> (tables, queues, blobs, share, durable
/// engine, runners) as <c>ok</c> or <c>down</c>, and <c>healthy</c> or <c>degraded</c> overall. Unlike the
/// anonymous <c>/api/health</c> it needs a key, as every seed 002 route does, and answers 200 either way.
/// </summary>
public static class V2StatusFunctions
{
    public static RouteHandlerBuilder MapV2StatusFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        return routes.MapGet("/v2/status", GetStatus).WithTags("v2 status").WithSummary("Each component's state, healthy or degraded overall");
    }

    public static async Task<IResult> GetStatus(HealthCheckService health, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(health);
        var report = await health.CheckHealthAsync(cancellationToken);
        var components = report.Entries
            .Select(e => e.Value.Status == HealthStatus.Healthy
                ? new V2Component(e.Key, "ok", null)
                : new V2Component(e.Key, "down", e.Value.Description ?? e.Value.Exception?.Message ?? e.Value.Status.ToString()))
            .ToList();
        return V2Results.Ok(new V2Status(components.All(c => c.Status == "ok") ? "healthy" : "degraded", components));
    }
}
