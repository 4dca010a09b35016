using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Share;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Backup;

/// <summary>A backup as listed: its id, when it was taken, its size and what it holds (from the blob's metadata).</summary>
/// <param name="Id">The backup id.</param>
/// <param name="CreatedAt">When its table snapshot was taken.</param>
/// <param name="Size">The archive's size in bytes.</param>
/// <param name="Tables">Tables in it.</param>
/// <param name="Rows">Rows over all tables.</param>
/// <param name="Files">Files in it.</param>
/// <param name="Consistent">Whether the snapshot was found consistent.</param>
public sealed record BackupInfo(string Id, DateTimeOffset CreatedAt, long Size, int Tables, long Rows, int Files, bool Consistent);

/// <summary>A backup just written: its listing and its manifest, and the archive in a temporary file (deleted when closed).</summary>
/// <param name="Info">The listing.</param>
/// <param name="Manifest">The manifest.</param>
/// <param name="ArchivePath">The local copy of the archive, equal to the blob.</param>
public sealed record CreatedBackup(BackupInfo Info, BackupManifest Manifest, string ArchivePath);

/// <summary>
/// Writes backups of the service's state into the <c>backups</c> blob container and lists, opens and deletes them:
/// every table whose name is the storage prefix followed by a capital letter (the service's own tables), except the
/// durable hub's and <see cref="BackupOptions.RuntimeTables"/>; every <c>env_info</c> file (through the share), every
/// file under <c>scripts/</c> and <c>projects/</c>, and the data-protection key ring's XML.
/// </summary>
public sealed partial class BackupService(StorageAccount storage, StorageNames names, IShareStore share, DataPaths paths, BackupOptions options, TimeProvider time)
{
    /// <summary>The blob container of backups (prefixed like every container).</summary>
    public const string ContainerName = "backups";

    /// <summary>The blob container of the data-protection key ring.</summary>
    public const string KeyRingContainer = "dataprotection";

    /// <summary>The file roots of an archive, under <c>files/</c>.</summary>
    public static class Roots
    {
        /// <summary>env_info files (through the share).</summary>
        public const string EnvInfo = "env_info";

        /// <summary>Task script directories.</summary>
        public const string Scripts = "scripts";

        /// <summary>Projects.</summary>
        public const string Projects = "projects";

        /// <summary>The key ring's XML blobs.</summary>
        public const string KeyRing = "keyring";

        /// <summary>All of them.</summary>
        public static readonly IReadOnlyList<string> All = [EnvInfo, Scripts, Projects, KeyRing];
    }

    private const int BufferSize = 81_920;

    /// <summary>Where the service's tables start after the prefix.</summary>
    public string Prefix { get; } = names.Table("");

    /// <summary>The informational version of this build.</summary>
    public static string ServiceVersion { get; } =
        typeof(BackupService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>Whether <paramref name="id"/> has the form of a backup id.</summary>
    public static bool IsValidId(string? id) => id is not null && IdPattern().IsMatch(id);

    /// <summary>The names (without prefix) of the tables a backup holds now, sorted.</summary>
    public async Task<IReadOnlyList<string>> ListTablesAsync(CancellationToken cancellationToken = default)
    {
        var tables = new List<string>();
        await foreach (var table in storage.Tables.QueryAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var name = table.Name;
            if (!name.StartsWith(Prefix, StringComparison.Ordinal) || name.StartsWith(options.HubName, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var logical = name[Prefix.Length..];

            // Another deployment's prefix may extend this one ("p1" and "p12"); the service's own names start with a capital.
            if (logical.Length == 0 || !char.IsAsciiLetterUpper(logical[0]) || options.IsExcluded(logical))
            {
                continue;
            }

            tables.Add(logical);
        }

        tables.Sort(StringComparer.Ordinal);
        return tables;
    }

    /// <summary>
    /// Takes a backup and stores it as <c>{id}.zip</c>. Tables have no snapshots: each attempt reads every table, then
    /// reads every table's keys and timestamps again; when nothing changed in between, the snapshot is consistent.
    /// Otherwise it starts over, up to <see cref="BackupOptions.ConsistencyAttempts"/> times, and the last attempt is
    /// kept with <see cref="BackupManifest.Consistent"/> false. Files are read once, after the tables.
    /// </summary>
    public async Task<CreatedBackup> CreateAsync(CancellationToken cancellationToken = default)
    {
        var started = time.GetUtcNow();
        var id = started.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var archivePath = Path.Combine(Path.GetTempPath(), $"envfabric-backup-{id}.zip");
        try
        {
            var manifest = await WriteArchiveAsync(id, archivePath, cancellationToken).ConfigureAwait(false);
            var size = new FileInfo(archivePath).Length;
            var info = new BackupInfo(id, manifest.CreatedAt, size, manifest.Totals.Tables, manifest.Totals.Rows, manifest.Totals.Files, manifest.Consistent);
            var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
            await using (var upload = new FileStream(archivePath, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous))
            {
                await container.GetBlobClient(id + ".zip").UploadAsync(
                    upload,
                    new BlobUploadOptions { Metadata = Metadata(info), HttpHeaders = new BlobHttpHeaders { ContentType = "application/zip" } },
                    cancellationToken).ConfigureAwait(false);
            }

            return new CreatedBackup(info, manifest, archivePath);
        }
        catch
        {
            File.Delete(archivePath);
            throw;
        }
    }

    /// <summary>Every stored backup, newest first.</summary>
    public async Task<IReadOnlyList<BackupInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<BackupInfo>();
        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { Traits = BlobTraits.Metadata }, cancellationToken).ConfigureAwait(false))
        {
            if (blob.Name.EndsWith(".zip", StringComparison.Ordinal) && IsValidId(blob.Name[..^4]))
            {
                list.Add(FromMetadata(blob.Name[..^4], blob.Properties.ContentLength ?? 0, blob.Metadata));
            }
        }

        // Ids start with their UTC time, so the ordinal order is the time order.
        return list.OrderByDescending(b => b.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>A stored backup's listing, or null when there is none by that id.</summary>
    public async Task<BackupInfo?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!IsValidId(id))
        {
            return null;
        }

        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var properties = await container.GetBlobClient(id + ".zip").GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return FromMetadata(id, properties.Value.ContentLength, properties.Value.Metadata);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>A stored backup's archive as a stream, or null when there is none by that id.</summary>
    public async Task<Stream?> OpenReadAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!IsValidId(id))
        {
            return null;
        }

        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await container.GetBlobClient(id + ".zip").OpenReadAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Copies a stored backup into <paramref name="path"/>; false when there is none by that id.</summary>
    public async Task<bool> DownloadToAsync(string id, string path, CancellationToken cancellationToken = default)
    {
        if (!IsValidId(id))
        {
            return false;
        }

        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await container.GetBlobClient(id + ".zip").DownloadToAsync(path, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            File.Delete(path);
            return false;
        }
    }

    /// <summary>Deletes a stored backup; false when there was none by that id.</summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!IsValidId(id))
        {
            return false;
        }

        var container = await ContainerAsync(cancellationToken).ConfigureAwait(false);
        var response = await container.GetBlobClient(id + ".zip").DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.Value;
    }

    private async Task<BlobContainerClient> ContainerAsync(CancellationToken cancellationToken)
    {
        var container = storage.Blobs.GetBlobContainerClient(names.Container(ContainerName));
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return container;
    }

    private async Task<BackupManifest> WriteArchiveAsync(string id, string archivePath, CancellationToken cancellationToken)
    {
        var attempts = Math.Max(1, options.ConsistencyAttempts);
        for (var attempt = 1; ; attempt++)
        {
            var createdAt = time.GetUtcNow();
            await using var file = new FileStream(archivePath, FileMode.Create, FileAccess.ReadWrite, FileShare.None, BufferSize, FileOptions.Asynchronous);
            using var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true);
            var tables = new List<BackupTableEntry>();
            var fingerprints = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var table in await ListTablesAsync(cancellationToken).ConfigureAwait(false))
            {
                var (entry, fingerprint) = await WriteTableAsync(zip, table, cancellationToken).ConfigureAwait(false);
                tables.Add(entry);
                fingerprints[table] = fingerprint;
            }

            var changed = new List<string>();
            foreach (var (table, fingerprint) in fingerprints)
            {
                if (await FingerprintAsync(table, cancellationToken).ConfigureAwait(false) != fingerprint)
                {
                    changed.Add(table);
                }
            }

            if (changed.Count > 0 && attempt < attempts)
            {
                continue;
            }

            var files = new List<BackupFileEntry>();
            await WriteFilesAsync(zip, files, cancellationToken).ConfigureAwait(false);
            var manifest = new BackupManifest
            {
                FormatVersion = BackupManifest.CurrentFormatVersion,
                ServiceVersion = ServiceVersion,
                BackupId = id,
                CreatedAt = createdAt,
                StoragePrefix = Prefix,
                Consistent = changed.Count == 0,
                Attempts = attempt,
                ChangedTables = changed,
                Tables = tables,
                Files = files,
                Totals = new BackupTotals(tables.Count, tables.Sum(t => t.Rows), files.Count, tables.Sum(t => t.Size) + files.Sum(f => f.Size)),
            };
            await using (var stream = await zip.CreateEntry(BackupManifest.EntryName, CompressionLevel.Optimal).OpenAsync(cancellationToken).ConfigureAwait(false))
            {
                await JsonSerializer.SerializeAsync(stream, manifest, BackupManifest.Json, cancellationToken).ConfigureAwait(false);
            }

            return manifest;
        }
    }

    private async Task<(BackupTableEntry Entry, string Fingerprint)> WriteTableAsync(ZipArchive zip, string table, CancellationToken cancellationToken)
    {
        var path = $"tables/{table}.jsonl";
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var keys = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long rows = 0, size = 0;
        await using (var stream = await zip.CreateEntry(path, CompressionLevel.Optimal).OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            var client = storage.Tables.GetTableClient(Prefix + table);
            await foreach (var entity in client.QueryAsync<TableEntity>(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var line = Encoding.UTF8.GetBytes(TableEntityJson.Serialize(entity) + "\n");
                hash.AppendData(line);
                await stream.WriteAsync(line, cancellationToken).ConfigureAwait(false);
                keys.AppendData(KeyLine(entity));
                rows++;
                size += line.Length;
            }
        }

        return (new BackupTableEntry(table, path, rows, size, Convert.ToHexStringLower(hash.GetHashAndReset())), Convert.ToHexStringLower(keys.GetHashAndReset()));
    }

    /// <summary>The keys and timestamps of a table's rows, hashed in the service's order: any insert, update or delete changes it.</summary>
    private async Task<string> FingerprintAsync(string table, CancellationToken cancellationToken)
    {
        using var keys = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var client = storage.Tables.GetTableClient(Prefix + table);
        try
        {
            await foreach (var entity in client.QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey", "Timestamp"], cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                keys.AppendData(KeyLine(entity));
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Dropped while reading: differs from whatever was read.
            return "gone";
        }

        return Convert.ToHexStringLower(keys.GetHashAndReset());
    }

    private static byte[] KeyLine(TableEntity entity) =>
        Encoding.UTF8.GetBytes($"{entity.PartitionKey}\0{entity.RowKey}\0{entity.Timestamp?.UtcTicks}\n");

    private async Task WriteFilesAsync(ZipArchive zip, List<BackupFileEntry> files, CancellationToken cancellationToken)
    {
        foreach (var name in (await share.ListFilesAsync(EnvInfoStore.Directory, cancellationToken).ConfigureAwait(false)).Order(StringComparer.Ordinal))
        {
            if (await share.ReadTextAsync($"{EnvInfoStore.Directory}/{name}", cancellationToken).ConfigureAwait(false) is { } text)
            {
                files.Add(await WriteEntryAsync(zip, $"files/{Roots.EnvInfo}/{name}", new MemoryStream(Encoding.UTF8.GetBytes(text)), cancellationToken).ConfigureAwait(false));
            }
        }

        await WriteDirectoryAsync(zip, paths.Scripts, Roots.Scripts, files, cancellationToken).ConfigureAwait(false);
        await WriteDirectoryAsync(zip, paths.Projects, Roots.Projects, files, cancellationToken).ConfigureAwait(false);

        var ring = storage.Blobs.GetBlobContainerClient(names.Container(KeyRingContainer));
        if (await ring.ExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            await foreach (var blob in ring.GetBlobsAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                var content = await ring.GetBlobClient(blob.Name).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
                files.Add(await WriteEntryAsync(zip, $"files/{Roots.KeyRing}/{blob.Name}", content.Value.Content.ToStream(), cancellationToken).ConfigureAwait(false));
            }
        }
    }

    // Regular files only: links are not followed (a link out of the share must not carry foreign files into a backup).
    private static async Task WriteDirectoryAsync(ZipArchive zip, string directory, string root, List<BackupFileEntry> files, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        var pending = new Stack<string>([directory]);
        var found = new List<string>();
        while (pending.Count > 0)
        {
            var current = pending.Pop();
            foreach (var entry in new DirectoryInfo(current).EnumerateFileSystemInfos())
            {
                if (entry.LinkTarget is not null)
                {
                    continue;
                }

                if (entry is DirectoryInfo)
                {
                    pending.Push(entry.FullName);
                }
                else if (entry is FileInfo)
                {
                    found.Add(entry.FullName);
                }
            }
        }

        foreach (var path in found.Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(directory, path).Replace(Path.DirectorySeparatorChar, '/');
            await using var content = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
            files.Add(await WriteEntryAsync(zip, $"files/{root}/{relative}", content, cancellationToken).ConfigureAwait(false));
        }
    }

    private static async Task<BackupFileEntry> WriteEntryAsync(ZipArchive zip, string path, Stream content, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long size = 0;
        var buffer = new byte[BufferSize];
        await using (content.ConfigureAwait(false))
        await using (var stream = await zip.CreateEntry(path, CompressionLevel.Optimal).OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                size += read;
            }
        }

        return new BackupFileEntry(path, size, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static Dictionary<string, string> Metadata(BackupInfo info) => new()
    {
        ["created_at"] = info.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
        ["tables"] = info.Tables.ToString(CultureInfo.InvariantCulture),
        ["rows"] = info.Rows.ToString(CultureInfo.InvariantCulture),
        ["files"] = info.Files.ToString(CultureInfo.InvariantCulture),
        ["consistent"] = info.Consistent ? "true" : "false",
        ["format_version"] = BackupManifest.CurrentFormatVersion.ToString(CultureInfo.InvariantCulture),
    };

    private static BackupInfo FromMetadata(string id, long size, IDictionary<string, string> metadata)
    {
        string? Get(string key) => metadata.TryGetValue(key, out var value) ? value : null;
        return new BackupInfo(
            id,
            DateTimeOffset.TryParse(Get("created_at"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at) ? at : DateTimeOffset.UnixEpoch,
            size,
            int.TryParse(Get("tables"), CultureInfo.InvariantCulture, out var tables) ? tables : 0,
            long.TryParse(Get("rows"), CultureInfo.InvariantCulture, out var rows) ? rows : 0,
            int.TryParse(Get("files"), CultureInfo.InvariantCulture, out var files) ? files : 0,
            Get("consistent") == "true");
    }

    [GeneratedRegex(@"^\d{8}T\d{6}Z-[0-9a-f]{6}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}
