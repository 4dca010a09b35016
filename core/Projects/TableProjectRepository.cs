using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Core.Projects;

/// <summary>
/// <see cref="IProjectRepository"/> on Azure Tables: table <c>Projects</c>, partition <c>project</c>, row key = the
/// name (validated by <see cref="ProjectName"/>, so always key-safe). The tasks using a project are read from the
/// <c>Tasks</c> table's <c>Project</c> column. A table that does not exist yet holds no projects; the first add
/// creates it.
/// </summary>
public sealed class TableProjectRepository(StorageAccount storage, StorageNames names, TimeProvider time) : IProjectRepository
{
    /// <summary>The table's base name.</summary>
    public const string TableName = "Projects";

    /// <summary>The task rows' column naming their project.</summary>
    public const string TaskProjectProperty = "Project";

    private const string Partition = "project";

    private readonly TableClient _table = storage.Tables.GetTableClient(names.Table(TableName));
    private readonly TableClient _tasks = storage.Tables.GetTableClient(names.Table(TableTaskReferences.TasksTable));

    /// <inheritdoc />
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default) =>
        await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<ProjectRecord?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!ProjectName.IsValid(name))
        {
            return null;
        }

        try
        {
            var row = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return row.HasValue ? FromEntity(row.Value!) : null;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ProjectRecord> ListAsync(string? ns = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var filter = ns is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {Partition}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and Namespace eq {ns}");
        await using var rows = _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await rows.MoveNextAsync().ConfigureAwait(false))
                {
                    yield break;
                }
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                yield break;
            }

            yield return FromEntity(rows.Current);
        }
    }

    /// <inheritdoc />
    public async Task<(ProjectSaveOutcome Outcome, ProjectRecord? Saved)> AddAsync(ProjectRecord project, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(project);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var response = await _table.AddEntityAsync(ToEntity(project), cancellationToken).ConfigureAwait(false);
                return (ProjectSaveOutcome.Saved, project with { ETag = response.Headers.ETag?.ToString() });
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                return (ProjectSaveOutcome.Conflict, null);
            }
            catch (RequestFailedException ex) when (ex.Status == 404 && attempt == 0)
            {
                await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public async Task<(ProjectSaveOutcome Outcome, ProjectRecord? Saved)> UpdateAsync(ProjectRecord project, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(project);
        var stamped = project with { UpdatedAt = time.GetUtcNow() };
        try
        {
            var etag = project.ETag is null ? ETag.All : new ETag(project.ETag);
            var response = await _table.UpdateEntityAsync(ToEntity(stamped), etag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return (ProjectSaveOutcome.Saved, stamped with { ETag = response.Headers.ETag?.ToString() });
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            return (ProjectSaveOutcome.Conflict, null);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return (ProjectSaveOutcome.NotFound, null);
        }
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await _table.DeleteEntityAsync(Partition, name, ETag.All, cancellationToken).ConfigureAwait(false);
            return response.Status != 404;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ProjectTaskReference>> TasksUsingAsync(string name, CancellationToken cancellationToken = default)
    {
        var found = new List<ProjectTaskReference>();
        try
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {"task"} and Project eq {name}");
            await foreach (var row in _tasks.QueryAsync<TableEntity>(filter, select: ["RowKey", "TaskId", "Name"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (row.GetInt64("TaskId") is { } id)
                {
                    found.Add(new ProjectTaskReference(id, row.GetString("Name") ?? ""));
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No tasks table yet: nothing uses the project.
        }

        return found;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, int>> TaskCountsAsync(CancellationToken cancellationToken = default)
    {
        // The project column only, of the task partition: a listing's counts without a query per project.
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {"task"}");
            await foreach (var row in _tasks.QueryAsync<TableEntity>(filter, select: ["Project"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (row.GetString("Project") is { Length: > 0 } project)
                {
                    counts[project] = counts.GetValueOrDefault(project) + 1;
                }
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No tasks table yet: no project is used.
        }

        return counts;
    }

    private static TableEntity ToEntity(ProjectRecord p) => new(Partition, p.Name)
    {
        ["Namespace"] = p.Namespace,
        ["WorkDir"] = p.WorkDir,
        ["OutputDir"] = p.OutputDir,
        ["CreatedAt"] = p.CreatedAt,
        ["UpdatedAt"] = p.UpdatedAt,
        ["SizeBytes"] = p.SizeBytes,
        ["FileCount"] = p.FileCount,
    };

    private static ProjectRecord FromEntity(TableEntity e) => new()
    {
        Name = e.RowKey,
        Namespace = e.GetString("Namespace") ?? "default",
        WorkDir = e.GetString("WorkDir") ?? "",
        OutputDir = e.GetString("OutputDir"),
        CreatedAt = e.GetDateTimeOffset("CreatedAt") ?? default,
        UpdatedAt = e.GetDateTimeOffset("UpdatedAt") ?? default,
        SizeBytes = e.GetInt64("SizeBytes") ?? 0,
        FileCount = e.GetInt32("FileCount") ?? 0,
        ETag = e.ETag.ToString(),
    };
}
