using Azure;
using Azure.Data.Tables;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Tasks;

/// <summary>
/// What the environment API needs to know about tasks: which tasks reference an environment (delete is
/// refused while any does; cleanup never touches one; rename rewrites them) and their usage statistics.
/// Reads the columns <see cref="TableTaskRepository"/> writes: task rows carry the environment in an
/// <c>Environment</c> property; execution rows carry <c>Environment</c>, <c>Status</c> and <c>DurationSeconds</c>.
/// </summary>
public interface ITaskReferences
{
    /// <summary>How many tasks reference <paramref name="environment"/>.</summary>
    Task<int> CountAsync(string environment, CancellationToken cancellationToken = default);

    /// <summary>Task counts per environment name, for every environment some task references.</summary>
    Task<IReadOnlyDictionary<string, int>> CountAllAsync(CancellationToken cancellationToken = default);

    /// <summary>The ids of the tasks referencing <paramref name="environment"/>.</summary>
    Task<IReadOnlyList<string>> ListAsync(string environment, CancellationToken cancellationToken = default);

    /// <summary>Points every task referencing <paramref name="from"/> at <paramref name="to"/>; returns how many changed.</summary>
    Task<int> RenameAsync(string from, string to, CancellationToken cancellationToken = default);

    /// <summary>Seed 000's usage_stats from the executions in <paramref name="environment"/> (zeros when none).</summary>
    Task<EnvironmentUsage> GetUsageAsync(string environment, CancellationToken cancellationToken = default);
}

/// <summary>Seed 000's <c>usage_stats</c>.</summary>
/// <param name="TotalTasks">Tasks referencing the environment.</param>
/// <param name="SuccessRate">Percentage of finished executions that succeeded (0-100).</param>
/// <param name="AvgExecutionTime">Mean execution duration in seconds.</param>
public sealed record EnvironmentUsage(int TotalTasks, int SuccessRate, int AvgExecutionTime);

/// <summary><see cref="ITaskReferences"/> on the <c>Tasks</c> and <c>Executions</c> tables; a missing table means none.</summary>
public sealed class TableTaskReferences(StorageAccount storage, StorageNames names) : ITaskReferences
{
    /// <summary>The tasks table's base name.</summary>
    public const string TasksTable = "Tasks";

    /// <summary>The executions table's base name.</summary>
    public const string ExecutionsTable = "Executions";

    /// <summary>The property naming a task's environment.</summary>
    public const string EnvironmentProperty = "Environment";

    private static readonly string[] KeyColumns = ["PartitionKey", "RowKey", EnvironmentProperty];

    private readonly TableClient _tasks = storage.Tables.GetTableClient(names.Table(TasksTable));
    private readonly TableClient _executions = storage.Tables.GetTableClient(names.Table(ExecutionsTable));

    /// <inheritdoc />
    public async Task<int> CountAsync(string environment, CancellationToken cancellationToken = default) =>
        (await QueryTasksAsync(environment, cancellationToken).ConfigureAwait(false)).Count;

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, int>> CountAllAsync(CancellationToken cancellationToken = default)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            await foreach (var row in _tasks.QueryAsync<TableEntity>(select: KeyColumns, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (row.GetString(EnvironmentProperty) is { Length: > 0 } env)
                {
                    counts[env] = counts.GetValueOrDefault(env) + 1;
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No tasks table yet: nothing references anything.
        }

        return counts;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListAsync(string environment, CancellationToken cancellationToken = default) =>
        (await QueryTasksAsync(environment, cancellationToken).ConfigureAwait(false)).Select(r => r.RowKey).ToArray();

    /// <inheritdoc />
    public async Task<int> RenameAsync(string from, string to, CancellationToken cancellationToken = default)
    {
        var changed = 0;
        foreach (var row in await QueryTasksAsync(from, cancellationToken).ConfigureAwait(false))
        {
            var patch = new TableEntity(row.PartitionKey, row.RowKey) { [EnvironmentProperty] = to };
            try
            {
                await _tasks.UpdateEntityAsync(patch, ETag.All, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false);
                changed++;
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // The task was deleted meanwhile; nothing to rename.
            }
        }

        return changed;
    }

    /// <inheritdoc />
    public async Task<EnvironmentUsage> GetUsageAsync(string environment, CancellationToken cancellationToken = default)
    {
        var total = await CountAsync(environment, cancellationToken).ConfigureAwait(false);
        int finished = 0, succeeded = 0;
        double seconds = 0;
        try
        {
            var filter = TableClient.CreateQueryFilter($"Environment eq {environment}");
            await foreach (var row in _executions.QueryAsync<TableEntity>(filter, select: ["Status", "DurationSeconds"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var status = row.GetString("Status");
                if (status is "completed" or "success" or "succeeded" or "failed" or "timeout" or "timed_out" or "abnormal")
                {
                    finished++;
                    succeeded += status is "completed" or "success" or "succeeded" ? 1 : 0;
                    seconds += row.GetDouble("DurationSeconds") ?? 0;
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No executions table yet.
        }

        return finished == 0
            ? new EnvironmentUsage(total, 0, 0)
            : new EnvironmentUsage(total, (int)Math.Round(100.0 * succeeded / finished), (int)Math.Round(seconds / finished));
    }

    private async Task<List<TableEntity>> QueryTasksAsync(string environment, CancellationToken cancellationToken)
    {
        var rows = new List<TableEntity>();
        try
        {
            var filter = TableClient.CreateQueryFilter($"Environment eq {environment}");
            await foreach (var row in _tasks.QueryAsync<TableEntity>(filter, select: KeyColumns, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                rows.Add(row);
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No tasks table yet.
        }

        return rows;
    }
}
