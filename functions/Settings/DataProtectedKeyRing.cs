using System.Security.Cryptography;
using Azure;
using Azure.Data.Tables;
using EnvFabric.Core.Settings;
using EnvFabric.Core.Storage;
using Microsoft.AspNetCore.DataProtection;

namespace EnvFabric.Functions.Settings;

/// <summary>
/// The secrets' data key: 256 random bits made once per deployment, kept in the <c>Settings</c> table protected by
/// ASP.NET Core data protection (whose ring is in the storage account) under <see cref="Purpose"/>. The row is
/// written with a conditional add, so hosts starting together agree on one key: the loser reads the winner's.
/// </summary>
public sealed class DataProtectedKeyRing(StorageAccount storage, StorageNames names, IDataProtectionProvider protection) : ISecretKeyRing, IDisposable
{
    /// <summary>The data protection purpose of the data key.</summary>
    public const string Purpose = "EnvFabric.Secrets.v1";

    /// <summary>The id of the one key made so far.</summary>
    public const byte CurrentId = 1;

    internal const string Partition = "secret-keys";

    private readonly TableClient _table = storage.Tables.GetTableClient(names.Table("Settings"));
    private readonly IDataProtector _protector = protection.CreateProtector(Purpose);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SecretDataKey? _current;

    public async ValueTask<SecretDataKey> CurrentAsync(CancellationToken cancellationToken = default)
    {
        if (_current is { } known)
        {
            return known;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _current ??= await LoadOrCreateAsync(cancellationToken).ConfigureAwait(false);
            return _current;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<SecretDataKey?> FindAsync(byte id, CancellationToken cancellationToken = default) =>
        id == CurrentId ? await CurrentAsync(cancellationToken).ConfigureAwait(false) : null;

    public void Dispose() => _gate.Dispose();

    private async Task<SecretDataKey> LoadOrCreateAsync(CancellationToken cancellationToken)
    {
        await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
        var rowKey = CurrentId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var existing = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, rowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!existing.HasValue || existing.Value is null)
        {
            var fresh = RandomNumberGenerator.GetBytes(32);
            try
            {
                await _table.AddEntityAsync(new TableEntity(Partition, rowKey) { ["Protected"] = _protector.Protect(fresh) }, cancellationToken).ConfigureAwait(false);
                return new SecretDataKey(CurrentId, fresh);
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // Another host added it first: use theirs.
                existing = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, rowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }

        var text = existing.Value?.GetBinary("Protected") ?? throw new SecretDecryptionException("the secrets data key row has no protected key");
        try
        {
            return new SecretDataKey(CurrentId, _protector.Unprotect(text));
        }
        catch (CryptographicException ex)
        {
            throw new SecretDecryptionException("the secrets data key cannot be unprotected: the data protection key ring (blob container 'dataprotection') is not the one that protected it", ex);
        }
    }
}
