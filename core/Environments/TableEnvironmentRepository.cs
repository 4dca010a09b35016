using System.Runtime.CompilerServices;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Environments;

/// <summary>
/// <see cref="IEnvironmentRepository"/> on Azure Tables: partition <c>env</c>, row key = name. Package lists
/// and lock files can pass a property's 64 KB limit, so they are split over numbered properties.
/// </summary>
public sealed class TableEnvironmentRepository(StorageAccount storage, StorageNames names) : IEnvironmentRepository
{
    /// <summary>The table's base name (the deployment prefix is added).</summary>
    public const string TableName = "Environments";

    private const string Partition = "env";

    // Table string properties hold 64 KB of UTF-16; stay under it.
    private const int ChunkChars = 30_000;

    private static readonly string[] SummaryColumns = ["RowKey", "PythonVersion", "CreatedAt", "PackageCount", "Status", "LastUsedAt"];

    private readonly TableClient _table = storage.Tables.GetTableClient(names.Table(TableName));

    /// <inheritdoc />
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default) =>
        await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<EnvironmentRecord?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        var response = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, name, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EnvironmentRecord> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var entity in _table.QueryAsync<TableEntity>($"PartitionKey eq '{Partition}'", cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return FromEntity(entity);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EnvironmentSummary> ListSummariesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var e in _table.QueryAsync<TableEntity>($"PartitionKey eq '{Partition}'", select: SummaryColumns, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return new EnvironmentSummary(
                e.RowKey,
                e.GetString("PythonVersion") ?? "",
                e.GetDateTimeOffset("CreatedAt") ?? default,
                e.GetInt32("PackageCount") ?? 0,
                ParseStatus(e.GetString("Status")),
                e.GetDateTimeOffset("LastUsedAt") ?? default);
        }
    }

    /// <inheritdoc />
    public async Task<SaveResult> AddAsync(EnvironmentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var entity = ToEntity(record);
        try
        {
            var response = await _table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
            return new SaveResult(SaveOutcome.Saved, record with { ETag = response.Headers.ETag?.ToString() });
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return new SaveResult(SaveOutcome.Conflict, null);
        }
    }

    /// <inheritdoc />
    public async Task<SaveResult> UpdateAsync(EnvironmentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var entity = ToEntity(record);
        try
        {
            var etag = record.ETag is null ? ETag.All : new ETag(record.ETag);
            var response = await _table.UpdateEntityAsync(entity, etag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return new SaveResult(SaveOutcome.Saved, record with { ETag = response.Headers.ETag?.ToString() });
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            return new SaveResult(SaveOutcome.Conflict, null);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return new SaveResult(SaveOutcome.NotFound, null);
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

    internal static TableEntity ToEntity(EnvironmentRecord r)
    {
        var entity = new TableEntity(Partition, r.Name)
        {
            ["Backend"] = BackendName(r.Backend),
            ["PythonVersion"] = r.PythonVersion,
            ["RequestedSpecs"] = JsonSerializer.Serialize(r.RequestedSpecs),
            ["PackageCount"] = r.Packages.Count,
            ["LockKind"] = r.LockKind,
            ["LockFileName"] = r.LockFileName,
            ["Status"] = StatusName(r.Status),
            ["CreatedAt"] = r.CreatedAt,
            ["UpdatedAt"] = r.UpdatedAt,
            ["LastUsedAt"] = r.LastUsedAt,
            ["Path"] = r.Path,
            ["WorkflowId"] = r.WorkflowId,
            ["NodeId"] = r.NodeId,
            ["VersionId"] = r.VersionId,
            ["LastOperationId"] = r.LastOperationId,
            ["LastOperation"] = r.LastOperation,
            ["LastError"] = Truncate(r.LastError, ChunkChars),
        };
        WriteChunks(entity, "Packages", JsonSerializer.Serialize(r.Packages.Select(p => new[] { p.Name, p.Version })));
        WriteChunks(entity, "Lock", r.LockText);
        return entity;
    }

    internal static EnvironmentRecord FromEntity(TableEntity e)
    {
        var packages = JsonSerializer.Deserialize<string[][]>(ReadChunks(e, "Packages") ?? "[]") ?? [];
        return new EnvironmentRecord
        {
            Name = e.RowKey,
            Backend = ParseBackend(e.GetString("Backend")),
            PythonVersion = e.GetString("PythonVersion") ?? "",
            RequestedSpecs = JsonSerializer.Deserialize<string[]>(e.GetString("RequestedSpecs") ?? "[]") ?? [],
            Packages = packages.Where(p => p.Length == 2).Select(p => new InstalledPackage(p[0], p[1])).ToArray(),
            LockText = ReadChunks(e, "Lock"),
            LockKind = e.GetString("LockKind"),
            LockFileName = e.GetString("LockFileName"),
            Status = ParseStatus(e.GetString("Status")),
            CreatedAt = e.GetDateTimeOffset("CreatedAt") ?? default,
            UpdatedAt = e.GetDateTimeOffset("UpdatedAt") ?? default,
            LastUsedAt = e.GetDateTimeOffset("LastUsedAt") ?? default,
            Path = e.GetString("Path") ?? "",
            WorkflowId = e.GetString("WorkflowId"),
            NodeId = e.GetString("NodeId"),
            VersionId = e.GetString("VersionId"),
            LastOperationId = e.GetString("LastOperationId"),
            LastOperation = e.GetString("LastOperation"),
            LastError = e.GetString("LastError"),
            ETag = e.ETag.ToString(),
        };
    }

    /// <summary>The wire name of a backend (<c>uv</c>, <c>conda</c>, <c>venv</c>).</summary>
    public static string BackendName(EnvironmentBackend backend) => backend switch
    {
        EnvironmentBackend.Uv => "uv",
        EnvironmentBackend.Conda => "conda",
        _ => "venv",
    };

    /// <summary>Parses a backend name; venv for anything unknown.</summary>
    public static EnvironmentBackend ParseBackend(string? name) => name?.ToLowerInvariant() switch
    {
        "uv" => EnvironmentBackend.Uv,
        "conda" => EnvironmentBackend.Conda,
        _ => EnvironmentBackend.Venv,
    };

    /// <summary>The wire name of a status.</summary>
    public static string StatusName(EnvironmentStatus status) => status.ToString().ToLowerInvariant();

    private static EnvironmentStatus ParseStatus(string? name) =>
        Enum.TryParse<EnvironmentStatus>(name, ignoreCase: true, out var status) ? status : EnvironmentStatus.Failed;

    private static void WriteChunks(TableEntity entity, string prefix, string? text)
    {
        if (text is null)
        {
            return;
        }

        var count = (text.Length + ChunkChars - 1) / ChunkChars;
        entity[prefix + "Chunks"] = count;
        for (var i = 0; i < count; i++)
        {
            entity[$"{prefix}{i}"] = text.Substring(i * ChunkChars, Math.Min(ChunkChars, text.Length - (i * ChunkChars)));
        }
    }

    private static string? ReadChunks(TableEntity entity, string prefix)
    {
        if (entity.GetInt32(prefix + "Chunks") is not { } count)
        {
            return null;
        }

        return string.Concat(Enumerable.Range(0, count).Select(i => entity.GetString($"{prefix}{i}") ?? ""));
    }

    private static string? Truncate(string? text, int max) => text is null || text.Length <= max ? text : text[..max];
}
