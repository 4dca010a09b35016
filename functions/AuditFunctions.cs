using System.Globalization;
using EnvFabric.Core.Audit;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using EnvFabric.Functions.Extensions;

namespace EnvFabric.Functions;

/// <summary>
/// <c>GET /api/audit</c>: seed 004's audit trail (seed 001's env_operations) by operation, environment,
/// client IP and time range. Admin keys only: it shows who did what from where.
/// </summary>
public static class AuditFunctions
{
    public static RouteGroupBuilder MapAuditFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/api/audit").WithTags("Audit").RequireAuthorization(AuthPolicies.Admin)
            .AddEndpointFilter(EnvironmentReadiness.Filter);
        group.MapGet("/", QueryAudit);
        return group;
    }

    public static async Task<Results<Ok<AuditPage>, JsonHttpResult<CondaError>>> QueryAudit(
        string? operation,
        string? environment,
        string? ip,
        [FromQuery(Name = "operation_id")] string? operationId,
        string? from,
        string? to,
        int? limit,
        IAuditLog audit,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        if (!TryTime(from, out var fromAt) || !TryTime(to, out var toAt))
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid time range", "from and to must be ISO 8601 times, e.g. 2026-01-31T08:00:00Z");
        }

        if (limit is < 1 or > 1000)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid limit", "limit must be between 1 and 1000");
        }

        var rows = await audit.QueryAsync(
            new AuditQuery { Operation = operation, Environment = environment, ClientIp = ip, OperationId = operationId, From = fromAt, To = toAt, Limit = limit ?? 100 },
            cancellationToken);
        return TypedResults.Ok(new AuditPage(true, rows.Count, rows.Select(r => new AuditItem(
            r.Id, r.At, r.Operation, r.Environment, r.Who, r.ClientIp, r.Inputs, r.Outcome, r.DurationMs, r.Error, r.OperationId)).ToArray()));
    }

    private static bool TryTime(string? text, out DateTimeOffset? at)
    {
        at = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            at = parsed;
            return true;
        }

        return false;
    }
}

public sealed record AuditItem(string Id, DateTimeOffset At, string Operation, string Environment, string Who, string ClientIp, string Inputs, string Outcome, long DurationMs, string? Error, string? OperationId);

public sealed record AuditPage(bool Success, int Count, IReadOnlyList<AuditItem> Items);
