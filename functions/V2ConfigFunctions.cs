using EnvFabric.Core.Audit;
using EnvFabric.Core.Pools;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>The services of the pool configuration routes.</summary>
public sealed class V2ConfigServices
{
    public required HttpContext Context { get; init; }

    [FromServices]
    public required FilePoolConfiguration Pools { get; init; }

    [FromServices]
    public required IAuditLog AuditLog { get; init; }

    [FromServices]
    public required TimeProvider Clock { get; init; }
}

/// <summary>
/// Seed 002's configuration routes: <c>POST /v2/reload</c> re-reads <c>pools.json</c> (admin key; a bad file is
/// 1001 and the running configuration stays), <c>GET /v2/slas</c> and <c>GET /v2/policys</c> (the seed's spelling)
/// list the SLA rules and the policies in force, in the file's snake_case form.
/// </summary>
public static class V2ConfigFunctions
{
    /// <summary>Seed 002's answer of a successful reload.</summary>
    public const string ReloadOk = "reload OK";

    public static IEndpointRouteBuilder MapV2ConfigFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/v2").WithTags("v2 configuration");
        group.MapPost("/reload", Reload).WithSummary("Re-read pools.json (pools, queues, SLAs, policies); a bad file changes nothing");
        group.MapGet("/slas", ListSlas).WithSummary("The SLA rules in force");
        group.MapGet("/policys", ListPolicies).WithSummary("The pool policies in force");
        return routes;
    }

    public static async Task<IResult> Reload([AsParameters] V2ConfigServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (!NamespaceAccess.IsAdmin(s.Context.User))
        {
            return ErrorBodies.V2(StatusCodes.Status403Forbidden, V2Codes.InvalidArgument, "the pool configuration is shared by the deployment: reloading it takes an admin key");
        }

        var before = s.Pools.Generation;
        var (result, problems) = await s.Pools.ReloadAndPublishAsync(s.Context.RequestAborted);
        var inputs = new { file = s.Pools.Path, generation_before = before, generation = s.Pools.Generation, problems };
        if (!result.Ok)
        {
            await s.AuditLog.WriteQuietlyAsync(s.Context, s.Clock, "pools.reload", "pools", inputs, outcome: "refused", error: result.Problem);
            return V2Results.Invalid($"{PoolFile.FileName} refused, the running configuration stays: {result.Problem}");
        }

        await s.AuditLog.WriteQuietlyAsync(s.Context, s.Clock, "pools.reload", "pools", inputs);
        return V2Results.Ok(ReloadOk);
    }

    public static IResult ListSlas(IPoolConfiguration pools)
    {
        ArgumentNullException.ThrowIfNull(pools);
        return TypedResults.Json(new V2Envelope<IReadOnlyList<SlaRule>>(pools.Current.Slas), PoolFile.Json);
    }

    public static IResult ListPolicies(IPoolConfiguration pools)
    {
        ArgumentNullException.ThrowIfNull(pools);
        return TypedResults.Json(new V2Envelope<IReadOnlyList<PoolPolicy>>(pools.Current.Policies), PoolFile.Json);
    }
}
