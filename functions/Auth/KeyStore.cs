using System.Collections.Concurrent;
using System.Security.Cryptography;
using Azure;
using Azure.Data.Tables;
using EnvFabric.Core.Storage;

namespace EnvFabric.Functions.Auth;

/// <summary>A named key as listed (never with its secret).</summary>
public sealed record StoredKey(string Name, string Role, string Namespace, DateTimeOffset CreatedAt, string KeyId)
{
    public KeyIdentity Identity => new(Name, Role, Namespace, KeyId);
}

/// <summary>Named keys: created with a role and a namespace, looked up by secret, listed, revoked.</summary>
public interface IKeyStore
{
    /// <summary>The key whose secret is <paramref name="secret"/>, or null.</summary>
    Task<StoredKey?> FindBySecretAsync(string secret, CancellationToken cancellationToken);

    /// <summary>The key named <paramref name="name"/>, or null.</summary>
    Task<StoredKey?> FindByNameAsync(string name, CancellationToken cancellationToken);

    /// <summary>Creates a key and returns it with its secret (shown once), or null when the name is taken.</summary>
    Task<(StoredKey Key, string Secret)?> CreateAsync(string name, string role, string @namespace, CancellationToken cancellationToken);

    Task<IReadOnlyList<StoredKey>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Removes the key; false when there was none.</summary>
    Task<bool> RevokeAsync(string name, CancellationToken cancellationToken);
}

/// <summary>
/// Keys in one Azure table partition, two rows per key written and deleted in one transaction: <c>name-{name}</c>
/// (for listing and sessions) and <c>hash-{sha256}</c> (for a point lookup by secret, so no secret is ever
/// compared character by character). Lookups are cached briefly; this host drops its cache entries at once
/// on create and revoke, other hosts within <see cref="PositiveTtl"/>.
/// </summary>
public sealed class TableKeyStore : IKeyStore
{
    public static readonly TimeSpan PositiveTtl = TimeSpan.FromSeconds(10);

    // Short, so a key created on another host works almost at once.
    private static readonly TimeSpan NegativeTtl = TimeSpan.FromSeconds(2);
    private const string Partition = "keys";
    private const int MaxCacheEntries = 10_000;

    private readonly TableClient _table;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (Row? Row, DateTimeOffset Expires)> _cache = new(StringComparer.Ordinal);
    private volatile bool _tableReady;

    public TableKeyStore(StorageAccount storage, StorageNames names, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(names);
        _table = storage.Tables.GetTableClient(names.Table("Keys"));
        _time = time;
    }

    public async Task<StoredKey?> FindBySecretAsync(string secret, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var digest = KeySecrets.Digest(secret);
        var row = await CachedAsync("hash-" + Convert.ToHexStringLower(digest), cancellationToken);
        return row is not null && CryptographicOperations.FixedTimeEquals(Convert.FromHexString(row.HashHex), digest) ? row.Key : null;
    }

    public async Task<StoredKey?> FindByNameAsync(string name, CancellationToken cancellationToken) =>
        KeyNames.IsValid(name) ? (await CachedAsync("name-" + name, cancellationToken))?.Key : null;

    public async Task<(StoredKey Key, string Secret)?> CreateAsync(string name, string role, string @namespace, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var secret = KeySecrets.NewSecret();
        var hash = KeySecrets.DigestHex(secret);
        var key = new StoredKey(name, role, @namespace, _time.GetUtcNow(), Guid.NewGuid().ToString("N"));
        try
        {
            await _table.SubmitTransactionAsync(
                [
                    new TableTransactionAction(TableTransactionActionType.Add, ToEntity("name-" + name, key, hash)),
                    new TableTransactionAction(TableTransactionActionType.Add, ToEntity("hash-" + hash, key, hash)),
                ],
                cancellationToken);
        }
        catch (TableTransactionFailedException ex) when (ex.Status == 409)
        {
            return null;
        }

        _cache.TryRemove("name-" + name, out _);
        _cache.TryRemove("hash-" + hash, out _);
        return (key, secret);
    }

    public async Task<IReadOnlyList<StoredKey>> ListAsync(CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var keys = new List<StoredKey>();
        // '.' follows '-' in ASCII: the range holds exactly the name rows.
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition} and RowKey ge {"name-"} and RowKey lt {"name."}");
        await foreach (var entity in _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            keys.Add(FromEntity(entity).Key);
        }

        return keys;
    }

    public async Task<bool> RevokeAsync(string name, CancellationToken cancellationToken)
    {
        if (!KeyNames.IsValid(name))
        {
            return false;
        }

        await EnsureTableAsync(cancellationToken);
        var row = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, "name-" + name, cancellationToken: cancellationToken);
        if (!row.HasValue || row.Value is null)
        {
            return false;
        }

        var hash = row.Value.GetString("SecretHash");
        try
        {
            await _table.SubmitTransactionAsync(
                [
                    new TableTransactionAction(TableTransactionActionType.Delete, row.Value, row.Value.ETag),
                    new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(Partition, "hash-" + hash), ETag.All),
                ],
                cancellationToken);
        }
        catch (TableTransactionFailedException ex) when (ex.Status is 404 or 412)
        {
            // Revoked (or re-created) concurrently by someone else: what we read is gone either way.
            return false;
        }
        finally
        {
            _cache.TryRemove("name-" + name, out _);
            _cache.TryRemove("hash-" + hash, out _);
        }

        return true;
    }

    private async Task<Row?> CachedAsync(string rowKey, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(rowKey, out var hit) && hit.Expires > now)
        {
            return hit.Row;
        }

        await EnsureTableAsync(cancellationToken);
        var entity = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, rowKey, cancellationToken: cancellationToken);
        var row = entity.HasValue && entity.Value is not null ? FromEntity(entity.Value) : null;
        if (_cache.Count >= MaxCacheEntries)
        {
            // Unknown secrets would otherwise grow the cache without bound.
            _cache.Clear();
        }

        _cache[rowKey] = (row, now + (row is null ? NegativeTtl : PositiveTtl));
        return row;
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        // Not a Lazy: a failure while storage is down must not stick; creating twice is harmless.
        if (!_tableReady)
        {
            await _table.CreateIfNotExistsAsync(cancellationToken);
            _tableReady = true;
        }
    }

    private static TableEntity ToEntity(string rowKey, StoredKey key, string hash) => new(Partition, rowKey)
    {
        ["Name"] = key.Name,
        ["Role"] = key.Role,
        ["Namespace"] = key.Namespace,
        ["KeyId"] = key.KeyId,
        ["SecretHash"] = hash,
        ["CreatedAt"] = key.CreatedAt,
    };

    private static Row FromEntity(TableEntity e) => new(
        new StoredKey(
            e.GetString("Name"),
            e.GetString("Role"),
            e.GetString("Namespace"),
            e.GetDateTimeOffset("CreatedAt") ?? DateTimeOffset.MinValue,
            e.GetString("KeyId")),
        e.GetString("SecretHash"));

    private sealed record Row(StoredKey Key, string HashHex);
}

/// <summary>Names of keys and namespaces: letters, digits, '.', '_' and '-', starting with a letter or digit.</summary>
public static class KeyNames
{
    public const int MaxLength = 64;

    public static bool IsValid(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= MaxLength && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
