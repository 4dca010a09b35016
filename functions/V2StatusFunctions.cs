using EnvFabric.Core.Pools;
using EnvFabric.Core.Runner;
using EnvFabric.Functions.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EnvFabric.Functions;

/// <summary>One component in <c>GET /v2/status</c>; <c>message</c> says why a component is down.</summary>
public sealed record V2Component(string Name, string Status, string? Message);

/// <summary>The data of <c>GET /v2/status</c>.</summary>
public sealed record V2Status(string Status, IReadOnlyList<V2Component> Components);

/// <summary>
/// Seed 002's system status: the health checks of <c>/api/health</c> (tables, queues, blobs, share, durable
/// engine, runners) and each pool's runners (<c>pool:{name}</c>: ok while the pool has a live runner; every
/// configured pool and every pool a runner announces) as <c>ok</c> or <c>down</c>, and <c>healthy</c> or <c>degraded</c> overall. Unlike the
/// anonymous <c>/api/health</c> it needs a key, as every seed 002 route does, and answers 200 either way.
/// </summary>
public static class V2StatusFunctions
{
    public static RouteHandlerBuilder MapV2StatusFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        return routes.MapGet("/v2/status", GetStatus).WithTags("v2 status").WithSummary("Each component's state, healthy or degraded overall");
    }

    public static async Task<IResult> GetStatus(HealthCheckService health, IPoolConfiguration pools, IRunnerRegistry registry, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(health);
        ArgumentNullException.ThrowIfNull(pools);
        var report = await health.CheckHealthAsync(cancellationToken);
        var components = report.Entries
            .Select(e => e.Value.Status == HealthStatus.Healthy
                ? new V2Component(e.Key, "ok", null)
                : new V2Component(e.Key, "down", e.Value.Description ?? e.Value.Exception?.Message ?? e.Value.Status.ToString()))
            .ToList();
        components.AddRange(await PoolComponentsAsync(pools.Current, registry, time, cancellationToken));
        return V2Results.Ok(new V2Status(components.All(c => c.Status == "ok") ? "healthy" : "degraded", components));
    }

    private static async Task<IReadOnlyList<V2Component>> PoolComponentsAsync(PoolConfiguration configuration, IRunnerRegistry registry, TimeProvider time, CancellationToken cancellationToken)
    {
        IReadOnlyList<RunnerInfo> runners;
        try
        {
            runners = await registry.GetRunnersAsync(cancellationToken);
        }
        catch (Azure.RequestFailedException ex)
        {
            return configuration.Pools.Select(p => new V2Component("pool:" + p.Name, "down", "runners table unreachable: " + ex.Message)).ToList();
        }

        var now = time.GetUtcNow();
        var names = configuration.Pools.Select(p => p.Name)
            .Concat(runners.Where(r => r.IsAlive(now, RunnerDefaults.StaleAfter)).Select(r => r.Pool).Order(StringComparer.Ordinal))
            .Distinct(StringComparer.Ordinal);
        return names.Select(name =>
        {
            var members = runners.Where(r => r.Pool == name).ToList();
            var alive = members.Count(r => r.IsAlive(now, RunnerDefaults.StaleAfter));
            return alive > 0
                ? new V2Component("pool:" + name, "ok", null)
                : new V2Component("pool:" + name, "down", members.Count == 0 ? "no runner has joined this pool" : $"no runner heartbeat within {RunnerDefaults.StaleAfter.TotalSeconds:0} s ({members.Count} runner(s) stopped or silent)");
        }).ToList();
    }
}
