using EnvFabric.Core.Audit;
using Microsoft.DurableTask;

namespace EnvFabric.Activities.Environments;

/// <summary>
/// Writes the operation's row to the audit table (seed 001's env_operations). A failed write throws
/// <see cref="AuditWriteException"/>; the orchestration turns that into <c>DB_AUDIT_ERROR</c>.
/// </summary>
public sealed class WriteEnvironmentAuditActivity(IAuditLog audit) : TaskActivity<AuditRequest, bool>
{
    public const string Name = "WriteEnvironmentAudit";

    public override async Task<bool> RunAsync(TaskActivityContext context, AuditRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var build = input.Build;
        await audit.WriteAsync(
            new AuditRecord
            {
                // One row per operation: a retried activity replaces its own row instead of adding a second.
                Id = input.OperationId,
                At = input.FinishedAt,
                Operation = build.Operation,
                Environment = build.Environment,
                Who = build.Who,
                ClientIp = build.ClientIp,
                Inputs = build.InputsJson,
                Outcome = !input.Succeeded ? "failed" : input.Error is null ? "succeeded" : "partial",
                DurationMs = (long)Math.Max(0, (input.FinishedAt - build.RequestedAt).TotalMilliseconds),
                Error = input.Error,
                OperationId = input.OperationId,
            },
            CancellationToken.None).ConfigureAwait(false);
        return true;
    }
}
