using System.Text.Json;
using Azure.Data.Tables;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Settings;

/// <summary>The stored package index setting, with who set it and when.</summary>
public sealed record StoredPackageIndex(PackageIndex Index, DateTimeOffset UpdatedAt, string UpdatedBy);

/// <summary>The deployment's package index setting (one row).</summary>
public interface IPackageIndexStore
{
    /// <summary>The setting, or null when none is set.</summary>
    Task<StoredPackageIndex?> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores <paramref name="index"/>; an empty one clears the setting.</summary>
    Task SetAsync(PackageIndex index, DateTimeOffset at, string who, CancellationToken cancellationToken = default);
}

/// <summary><see cref="IPackageIndexStore"/> as the row <c>settings/package-index</c> of the <c>Settings</c> table (JSON).</summary>
public sealed class TablePackageIndexStore(StorageAccount storage, StorageNames names) : IPackageIndexStore
{
    private const string Partition = "settings";
    private const string Row = "package-index";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly TableClient _table = storage.Tables.GetTableClient(names.Table("Settings"));
    private volatile bool _tableReady;

    public async Task<StoredPackageIndex?> GetAsync(CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var row = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, Row, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!row.HasValue || row.Value?.GetString("Index") is not { } json)
        {
            return null;
        }

        var index = JsonSerializer.Deserialize<PackageIndex>(json, Json);
        return index is null || index.IsEmpty ? null : new StoredPackageIndex(index, row.Value.GetDateTimeOffset("UpdatedAt") ?? DateTimeOffset.MinValue, row.Value.GetString("UpdatedBy") ?? "");
    }

    public async Task SetAsync(PackageIndex index, DateTimeOffset at, string who, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(index);
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        if (index.IsEmpty)
        {
            try
            {
                await _table.DeleteEntityAsync(Partition, Row, Azure.ETag.All, cancellationToken).ConfigureAwait(false);
            }
            catch (Azure.RequestFailedException ex) when (ex.Status == 404)
            {
                // Nothing was set: cleared already.
            }

            return;
        }

        await _table.UpsertEntityAsync(
            new TableEntity(Partition, Row) { ["Index"] = JsonSerializer.Serialize(index, Json), ["UpdatedAt"] = at, ["UpdatedBy"] = who },
            TableUpdateMode.Replace,
            cancellationToken).ConfigureAwait(false);
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (!_tableReady)
        {
            await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            _tableReady = true;
        }
    }
}

/// <summary>
/// Stamps the stored package index on every job that installs or resolves packages as it is enqueued, so a change
/// applies to every later create, add, remove, sync and lock, on whichever runner takes it.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is a queue of runner jobs, as AzureRunnerJobQueue.")]
public sealed class PackageIndexJobQueue(IRunnerJobQueue inner, IPackageIndexStore store) : IRunnerJobQueue
{
    public async Task EnqueueAsync(RunnerJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (Installs(job) && job.PackageIndex is null && await store.GetAsync(cancellationToken).ConfigureAwait(false) is { } stored)
        {
            job = job with { PackageIndex = stored.Index, Version = Math.Max(job.Version, RunnerJob.PackageIndexVersion) };
        }

        await inner.EnqueueAsync(job, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The jobs that resolve or install packages; the others (scripts, code runs, listing, rename, delete, interpreters) go out unchanged.</summary>
    private static bool Installs(RunnerJob job) => job is CreateEnvironmentJob or AddPackagesJob or RemovePackagesJob or SyncEnvironmentJob or LockEnvironmentJob;
}
