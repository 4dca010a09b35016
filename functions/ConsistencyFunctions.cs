using EnvFabric.Core.Configuration;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Consistency;
using EnvFabric.Functions.Extensions;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>
/// <c>/api/system/consistency</c>, admin only: what disagrees between the tables, the share and the durable engine
/// (<see cref="ConsistencyCheck"/>), and the repair of what can be repaired safely (<see cref="ConsistencyRepair"/>).
/// </summary>
public static class ConsistencyFunctions
{
    public static RouteGroupBuilder MapConsistencyFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/api/system/consistency").WithTags("System").RequireAuthorization(AuthPolicies.Admin)
            .AddEndpointFilter(EnvironmentReadiness.Filter);
        group.MapGet("", CheckConsistency)
            .WithName("CheckConsistency")
            .WithSummary("Lists what disagrees between the tables, the share, the log blobs and the durable engine (nothing changed within CONSISTENCY_GRACE_SECONDS).");
        group.MapPost("/repair", RepairConsistency)
            .Produces<CondaError>(StatusCodes.Status400BadRequest)
            .WithName("RepairConsistency")
            .WithSummary("Repairs what the check finds repairable, each action audited as system.repair; dry_run=true lists the actions only.")
            .DisableRequestTimeout();
        return group;
    }

    public static async Task<Ok<ConsistencyReport>> CheckConsistency([FromServices] ConsistencyCheck check, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(check);
        return TypedResults.Ok(await check.RunAsync(cancellationToken));
    }

    public static async Task<Results<Ok<RepairReport>, JsonHttpResult<CondaError>>> RepairConsistency(
        [FromQuery(Name = "dry_run")] string? dryRun, HttpContext context, [FromServices] ConsistencyRepair repair)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(repair);
        var dry = false;
        if (!string.IsNullOrEmpty(dryRun) && !SettingValue.TryParseBoolean(dryRun, out dry))
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid dry_run", $"dry_run must be true or false (was '{dryRun}')");
        }

        var who = NamespaceAccess.KeyNameOf(context.User) ?? "anonymous";
        var ip = context.Connection.RemoteIpAddress?.ToString() ?? "";
        return TypedResults.Ok(await repair.RunAsync(dry, who, ip, context.RequestAborted));
    }
}
