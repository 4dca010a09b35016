using Azure;
using Azure.Data.Tables;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Environments;

/// <summary>
/// The per-environment mutation lock. The HTTP call takes it for the orchestration instance it is about to
/// start (so a second mutation is refused at once), the orchestration re-takes it idempotently as its first
/// step and releases it as its last. The expiry is only a safety net for an orchestration that was purged.
/// </summary>
public interface IEnvironmentLock
{
    /// <summary>Creates the table when missing.</summary>
    Task EnsureCreatedAsync(CancellationToken cancellationToken = default);

    /// <summary>Takes the lock for <paramref name="owner"/>; succeeds again for the same owner (idempotent).</summary>
    Task<LockAttempt> TryAcquireAsync(string name, string owner, string operation, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>Releases the lock if <paramref name="owner"/> holds it; true when it did.</summary>
    Task<bool> ReleaseAsync(string name, string owner, CancellationToken cancellationToken = default);

    /// <summary>The current holder, or null when free (an expired lock counts as free).</summary>
    Task<LockHolder?> GetAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>Who holds a lock.</summary>
/// <param name="Owner">The orchestration instance id.</param>
/// <param name="Operation">What it is doing (create, add, ...).</param>
/// <param name="AcquiredAt">Since when.</param>
/// <param name="ExpiresAt">When it lapses if never released.</param>
public sealed record LockHolder(string Owner, string Operation, DateTimeOffset AcquiredAt, DateTimeOffset ExpiresAt);

/// <summary>The outcome of <see cref="IEnvironmentLock.TryAcquireAsync"/>.</summary>
/// <param name="Acquired">True when the caller holds the lock now.</param>
/// <param name="Holder">The other holder when not acquired.</param>
public sealed record LockAttempt(bool Acquired, LockHolder? Holder);

/// <summary><see cref="IEnvironmentLock"/> as rows of the <c>EnvironmentLocks</c> table, taken with insert-or-ETag.</summary>
public sealed class TableEnvironmentLock(StorageAccount storage, StorageNames names, TimeProvider time) : IEnvironmentLock
{
    /// <summary>The table's base name.</summary>
    public const string TableName = "EnvironmentLocks";

    private const string Partition = "lock";

    private readonly TableClient _table = storage.Tables.GetTableClient(names.Table(TableName));

    /// <inheritdoc />
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default) =>
        await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<LockAttempt> TryAcquireAsync(string name, string owner, string operation, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var entity = new TableEntity(Partition, name)
        {
            ["Owner"] = owner,
            ["Operation"] = operation,
            ["AcquiredAt"] = now,
            ["ExpiresAt"] = now + ttl,
        };

        // Two rounds at most: insert, or replace an expired row under its ETag; anything else means another holder.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                await _table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
                return new LockAttempt(true, null);
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                var existing = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, name, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (!existing.HasValue)
                {
                    continue;
                }

                var row = existing.Value!;
                var holder = ToHolder(row);
                if (holder.Owner != owner && holder.ExpiresAt > now)
                {
                    return new LockAttempt(false, holder);
                }

                try
                {
                    if (holder.Owner == owner)
                    {
                        // Same owner re-taking (a replayed or retried step): keep the original acquisition time.
                        entity["AcquiredAt"] = holder.AcquiredAt;
                    }

                    await _table.UpdateEntityAsync(entity, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                    return new LockAttempt(true, null);
                }
                catch (RequestFailedException inner) when (inner.Status is 412 or 404)
                {
                    // Someone raced us to the expired or released row; look again.
                }
            }
        }

        var current = await GetAsync(name, cancellationToken).ConfigureAwait(false);
        return new LockAttempt(false, current);
    }

    /// <inheritdoc />
    public async Task<bool> ReleaseAsync(string name, string owner, CancellationToken cancellationToken = default)
    {
        var existing = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, name, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!existing.HasValue || existing.Value!.GetString("Owner") != owner)
        {
            return false;
        }

        try
        {
            await _table.DeleteEntityAsync(Partition, name, existing.Value.ETag, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<LockHolder?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        var existing = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, name, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!existing.HasValue)
        {
            return null;
        }

        var holder = ToHolder(existing.Value!);
        return holder.ExpiresAt > time.GetUtcNow() ? holder : null;
    }

    private static LockHolder ToHolder(TableEntity row) => new(
        row.GetString("Owner") ?? "",
        row.GetString("Operation") ?? "",
        row.GetDateTimeOffset("AcquiredAt") ?? default,
        row.GetDateTimeOffset("ExpiresAt") ?? default);
}
