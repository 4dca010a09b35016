using System.Text.Json;
using EnvFabric.Core.Audit;
using EnvFabric.Functions.Auth;

namespace EnvFabric.Functions.Http;

/// <summary>Audit rows of an HTTP request: who (the key), from where (the address), what and on which object.</summary>
public static class AuditTrail
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>
    /// Writes <paramref name="operation"/> (succeeded unless <paramref name="outcome"/> says otherwise) with <paramref name="inputs"/> (as snake_case JSON). An audit
    /// outage does not fail the request: the change is made, and the health check shows the outage.
    /// </summary>
    public static async Task WriteQuietlyAsync(
        this IAuditLog log, HttpContext context, TimeProvider time, string operation, string operationId, object inputs, string environment = "", string outcome = "succeeded", string? error = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(time);
        try
        {
            await log.WriteAsync(
                new AuditRecord
                {
                    Id = $"{operation.Split('.')[0]}-{Guid.NewGuid():N}",
                    At = time.GetUtcNow(),
                    Operation = operation,
                    Environment = environment,
                    Who = NamespaceAccess.KeyNameOf(context.User) ?? "anonymous",
                    ClientIp = context.Connection.RemoteIpAddress?.ToString() ?? "",
                    Inputs = JsonSerializer.Serialize(inputs, Json),
                    Outcome = outcome,
                    Error = error,
                    OperationId = operationId,
                },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (AuditWriteException)
        {
            // The change itself is made.
        }
    }
}
