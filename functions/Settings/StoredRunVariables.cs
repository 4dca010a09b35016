using System.Globalization;
using System.Text.Json;
using EnvFabric.Activities.Tasks;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Settings;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Functions.Settings;

/// <summary>
/// The variables of a run from the <c>Variables</c> table: system, then the task's namespace, then the task (a name
/// set in a narrower scope replaces the wider one, whatever its type). Secrets are decrypted here, inside the
/// dispatch activity, and each run that reads any writes one <c>secret.read</c> audit row with their names.
/// </summary>
public sealed class StoredRunVariables(IVariableStore store, SecretCipher cipher, IAuditLog audit, TimeProvider time) : IRunVariables
{
    private static readonly JsonSerializerOptions AuditJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public async Task<ResolvedVariables> ResolveAsync(TaskRecord task, string executionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        var scopes = new[] { VariableScope.System, VariableScope.ForNamespace(task.Namespace), VariableScope.ForTask(task.TaskId) };
        var lists = await Task.WhenAll(scopes.Select(s => store.ListAsync(s, cancellationToken))).ConfigureAwait(false);
        var winners = new Dictionary<string, VariableRecord>(StringComparer.Ordinal);
        foreach (var record in lists.SelectMany(l => l))
        {
            winners[record.Name] = record;
        }

        if (winners.Count == 0)
        {
            return ResolvedVariables.None;
        }

        var plain = new Dictionary<string, string>(StringComparer.Ordinal);
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var record in winners.Values)
        {
            if (record.IsSecret)
            {
                secrets[record.Name] = await cipher.DecryptAsync(record.Ciphertext ?? [], record.Scope, record.Name, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                plain[record.Name] = record.Value ?? "";
            }
        }

        if (secrets.Count > 0)
        {
            await AuditReadAsync(task, executionId, winners.Values.Where(r => r.IsSecret).OrderBy(r => r.Name, StringComparer.Ordinal).ToList()).ConfigureAwait(false);
        }

        return new ResolvedVariables(plain, secrets);
    }

    private async Task AuditReadAsync(TaskRecord task, string executionId, IReadOnlyList<VariableRecord> read)
    {
        try
        {
            await audit.WriteAsync(
                new AuditRecord
                {
                    Id = $"secret-{Guid.NewGuid():N}",
                    At = time.GetUtcNow(),
                    Operation = "secret.read",
                    Environment = task.Environment,
                    Who = "system",
                    Inputs = JsonSerializer.Serialize(
                        new { task_id = task.TaskId, execution_id = executionId, secrets = read.Select(r => r.Name).ToList(), scopes = read.Select(r => r.Scope.Key).ToList() },
                        AuditJson),
                    Outcome = "succeeded",
                    OperationId = task.TaskId.ToString(CultureInfo.InvariantCulture),
                },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (AuditWriteException)
        {
            // The run goes ahead, as every audited action does; the audit outage shows in the health check.
        }
    }
}
