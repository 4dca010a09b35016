using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using EnvFabric.Activities.Tasks;
using EnvFabric.Core.Storage;
using Microsoft.AspNetCore.DataProtection;

namespace EnvFabric.Functions;

/// <summary>
/// The per-namespace secrets that sign completion callbacks (<c>X-EnvFabric-Signature: sha256=HMAC-SHA256(secret,
/// body)</c>, the key being the secret's UTF-8 text, as GitHub signs webhooks). One row per namespace in the
/// <c>CallbackSecrets</c> table, the secret protected by ASP.NET Core data protection (its key ring lives in the
/// storage account), created on first use with a conditional add so hosts agree on one. Cached for a minute.
/// </summary>
public sealed class CallbackSecrets : ICallbackSigner
{
    public const string TableName = "CallbackSecrets";
    private const string Partition = "ns";
    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);

    private readonly TableClient _table;
    private readonly IDataProtector _protector;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (string Secret, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);
    private volatile bool _ready;

    public CallbackSecrets(StorageAccount storage, StorageNames names, IDataProtectionProvider protection, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(protection);
        _table = storage.Tables.GetTableClient(names.Table(TableName));
        _protector = protection.CreateProtector("EnvFabric.CallbackSecrets.v1");
        _time = time;
    }

    public async Task<string> SignAsync(string @namespace, byte[] body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var secret = await GetAsync(@namespace, cancellationToken).ConfigureAwait(false);
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
    }

    /// <summary>The namespace's secret, created on first use.</summary>
    public async Task<string> GetAsync(string @namespace, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        if (_cache.TryGetValue(@namespace, out var cached) && cached.Until > _time.GetUtcNow())
        {
            return cached.Secret;
        }

        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var row = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, @namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (row.HasValue && row.Value?.GetString("Protected") is { } stored)
            {
                return Remember(@namespace, _protector.Unprotect(stored));
            }

            var secret = NewSecret();
            try
            {
                await _table.AddEntityAsync(new TableEntity(Partition, @namespace) { ["Protected"] = _protector.Protect(secret) }, cancellationToken).ConfigureAwait(false);
                return Remember(@namespace, secret);
            }
            catch (RequestFailedException ex) when (ex.Status == 409 && attempt < 3)
            {
                // Another host created it first: read theirs.
            }
        }
    }

    /// <summary>Replaces the namespace's secret; callbacks sent from now on are signed with the new one.</summary>
    public async Task<string> RotateAsync(string @namespace, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var secret = NewSecret();
        await _table.UpsertEntityAsync(new TableEntity(Partition, @namespace) { ["Protected"] = _protector.Protect(secret) }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        return Remember(@namespace, secret);
    }

    private string Remember(string @namespace, string secret)
    {
        _cache[@namespace] = (secret, _time.GetUtcNow() + CacheFor);
        return secret;
    }

    private static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (!_ready)
        {
            await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            _ready = true;
        }
    }
}
