using Azure;
using Azure.Data.Tables;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Settings;

/// <summary>The stored variables: one row per (scope, name).</summary>
public interface IVariableStore
{
    /// <summary>The variable <paramref name="name"/> of <paramref name="scope"/>, or null.</summary>
    Task<VariableRecord?> GetAsync(VariableScope scope, string name, CancellationToken cancellationToken = default);

    /// <summary>The variables of <paramref name="scope"/>, or of every scope when it is null, ordered by scope key then name.</summary>
    Task<IReadOnlyList<VariableRecord>> ListAsync(VariableScope? scope, CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces the row.</summary>
    Task SetAsync(VariableRecord record, CancellationToken cancellationToken = default);

    /// <summary>Deletes the row; false when there was none.</summary>
    Task<bool> DeleteAsync(VariableScope scope, string name, CancellationToken cancellationToken = default);
}

/// <summary>
/// <see cref="IVariableStore"/> on the <c>Variables</c> table: PartitionKey = the scope key, RowKey = the name.
/// A secret's row holds only its ciphertext.
/// </summary>
public sealed class TableVariableStore(StorageAccount storage, StorageNames names) : IVariableStore
{
    private readonly TableClient _table = storage.Tables.GetTableClient(names.Table("Variables"));
    private volatile bool _tableReady;

    public async Task<VariableRecord?> GetAsync(VariableScope scope, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scope);
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var row = await _table.GetEntityIfExistsAsync<TableEntity>(scope.Key, name, cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue && row.Value is not null ? FromEntity(row.Value) : null;
    }

    public async Task<IReadOnlyList<VariableRecord>> ListAsync(VariableScope? scope, CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var filter = scope is null ? null : TableClient.CreateQueryFilter($"PartitionKey eq {scope.Key}");
        var list = new List<VariableRecord>();
        await foreach (var entity in _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (FromEntity(entity) is { } record)
            {
                list.Add(record);
            }
        }

        return list;
    }

    public async Task SetAsync(VariableRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var entity = new TableEntity(record.Scope.Key, record.Name)
        {
            ["Type"] = record.Type,
            ["CreatedAt"] = record.CreatedAt,
            ["UpdatedAt"] = record.UpdatedAt,
            ["UpdatedBy"] = record.UpdatedBy,
        };
        if (record.IsSecret)
        {
            entity["Ciphertext"] = record.Ciphertext ?? throw new ArgumentException("a secret needs its ciphertext", nameof(record));
        }
        else
        {
            entity["Value"] = record.Value ?? "";
        }

        await _table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAsync(VariableScope scope, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scope);
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await _table.DeleteEntityAsync(scope.Key, name, ETag.All, cancellationToken).ConfigureAwait(false);
            return response.Status != 404;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        // Not a Lazy: a failure while storage is down must not stick; creating twice is harmless.
        if (!_tableReady)
        {
            await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            _tableReady = true;
        }
    }

    private static VariableRecord? FromEntity(TableEntity e)
    {
        // A row of an unknown scope form is not one this version wrote; it is skipped, not misread.
        if (VariableScope.FromKey(e.PartitionKey) is not { } scope)
        {
            return null;
        }

        var type = e.GetString("Type") ?? VariableTypes.Plain;
        return new VariableRecord
        {
            Name = e.RowKey,
            Type = type,
            Scope = scope,
            Value = type == VariableTypes.Secret ? null : e.GetString("Value"),
            Ciphertext = type == VariableTypes.Secret ? e.GetBinary("Ciphertext") : null,
            CreatedAt = e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
            UpdatedAt = e.GetDateTimeOffset("UpdatedAt") ?? DateTimeOffset.MinValue,
            UpdatedBy = e.GetString("UpdatedBy") ?? "",
        };
    }
}
