using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Share;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Core.Backup;

/// <summary>An archive was refused before anything was changed; <see cref="Exception.Message"/> says why.</summary>
public sealed class BackupRejectedException : Exception
{
    public BackupRejectedException()
    {
    }

    public BackupRejectedException(string message)
        : base(message)
    {
    }

    public BackupRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>What one table's restore did.</summary>
/// <param name="Name">The table, without prefix.</param>
/// <param name="Rows">Rows written (the archive's rows).</param>
/// <param name="Deleted">Rows deleted because the archive does not hold them.</param>
public sealed record RestoredTable(string Name, long Rows, long Deleted);

/// <summary>What a restore did.</summary>
/// <param name="BackupId">The archive's backup id.</param>
/// <param name="CreatedAt">When the archive's snapshot was taken.</param>
/// <param name="Tables">Per table.</param>
/// <param name="Files">Files written (env_info, scripts, projects, key ring).</param>
public sealed record RestoreResult(string BackupId, DateTimeOffset CreatedAt, IReadOnlyList<RestoredTable> Tables, int Files);

/// <summary>
/// Restores an archive written by <see cref="BackupService"/>. First the whole archive is verified, and nothing is
/// changed when it fails: the manifest is there and parses, its format version is known, the entries are exactly the
/// manifest's, each entry's path stays inside its root, each size and SHA-256 match, the limits hold, every table line
/// is an entity and no key repeats. Then each archived table's contents are replaced (rows the archive lacks are
/// deleted, the archive's rows upserted in Replace mode, in entity-group transactions of at most 100 per partition),
/// <c>scripts/</c> and <c>projects/</c> are written beside the current directories and swapped in, the
/// <c>env_info</c> files are written through the share (files the archive lacks are deleted) and the key ring's
/// XML blobs are written back (keys made since stay, so nothing encrypted with them is lost).
/// </summary>
public sealed class BackupRestorer(StorageAccount storage, StorageNames names, IShareStore share, DataPaths paths, BackupOptions options)
{
    private const int BufferSize = 81_920;
    private const int MaxBatch = 100;

    // The service takes at most 4 MiB per transaction; an entity's JSON is a fair bound of its size on the wire.
    private const int MaxBatchBytes = 3 * 1024 * 1024;
    private const long MaxManifestBytes = 64L * 1024 * 1024;
    private const int MaxPathLength = 1024;
    private const int MaxNameLength = 255;

    /// <summary>Verifies the archive at <paramref name="archivePath"/> and returns its manifest.</summary>
    /// <exception cref="BackupRejectedException">The archive is refused.</exception>
    public async Task<BackupManifest> VerifyAsync(string archivePath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(archivePath);
        if (new FileInfo(archivePath).Length > options.MaxArchiveBytes)
        {
            throw new BackupRejectedException($"The archive is larger than the limit of {options.MaxArchiveBytes / (1024 * 1024)} MB (BACKUP_MAX_MB)");
        }

        using var zip = Open(archivePath);
        if (zip.Entries.Count > options.MaxEntries + 1)
        {
            throw new BackupRejectedException($"The archive has {zip.Entries.Count} entries, more than the limit of {options.MaxEntries} (BACKUP_MAX_ENTRIES)");
        }

        var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in zip.Entries)
        {
            if (entry.FullName.EndsWith('/') && entry.Length == 0)
            {
                continue;
            }

            CheckPath(entry.FullName);
            if (!entries.TryAdd(entry.FullName, entry))
            {
                throw new BackupRejectedException($"The archive has the entry '{entry.FullName}' twice (names are compared ignoring case)");
            }
        }

        var manifest = await ReadManifestAsync(entries, cancellationToken).ConfigureAwait(false);
        var listed = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { BackupManifest.EntryName };
        long expanded = 0;
        foreach (var table in manifest.Tables)
        {
            if (table is null || !IsTableName(table.Name) || table.Path != $"tables/{table.Name}.jsonl")
            {
                throw new BackupRejectedException($"The manifest lists a table with a wrong name or path: '{table?.Name}' at '{table?.Path}'");
            }

            listed.Add(table.Path);
            var entry = Entry(entries, table.Path);
            expanded = CheckExpanded(expanded, table.Size);
            var (size, sha, rows) = await ReadEntryAsync(entry, table.Size, countRows: true, cancellationToken).ConfigureAwait(false);
            Compare(table.Path, table.Size, table.Sha256, size, sha);
            if (rows != table.Rows)
            {
                throw new BackupRejectedException($"The archive's table '{table.Name}' holds {rows} rows; the manifest says {table.Rows}");
            }
        }

        foreach (var file in manifest.Files)
        {
            if (file is null || !file.Path.StartsWith("files/", StringComparison.Ordinal))
            {
                throw new BackupRejectedException($"The manifest lists a file outside files/: '{file?.Path}'");
            }

            listed.Add(file.Path);
            var entry = Entry(entries, file.Path);
            expanded = CheckExpanded(expanded, file.Size);
            var (size, sha, _) = await ReadEntryAsync(entry, file.Size, countRows: false, cancellationToken).ConfigureAwait(false);
            Compare(file.Path, file.Size, file.Sha256, size, sha);
        }

        if (entries.Keys.FirstOrDefault(e => !listed.Contains(e)) is { } extra)
        {
            throw new BackupRejectedException($"The archive has the entry '{extra}', which the manifest does not list");
        }

        return manifest;
    }

    /// <summary>Verifies, then restores the archive at <paramref name="archivePath"/>.</summary>
    /// <exception cref="BackupRejectedException">The archive is refused; nothing was changed.</exception>
    public async Task<RestoreResult> RestoreAsync(string archivePath, CancellationToken cancellationToken = default)
    {
        var manifest = await VerifyAsync(archivePath, cancellationToken).ConfigureAwait(false);
        using var zip = Open(archivePath);

        // Files are staged first: a full disk fails the restore before any table is touched.
        var stamp = Guid.NewGuid().ToString("N")[..8];
        var staged = new List<(string Staging, string Target)>();
        var files = 0;
        try
        {
            foreach (var (root, target) in new[] { (BackupService.Roots.Scripts, paths.Scripts), (BackupService.Roots.Projects, paths.Projects) })
            {
                var inRoot = manifest.Files.Where(f => f.Path.StartsWith($"files/{root}/", StringComparison.Ordinal)).ToList();
                if (inRoot.Count == 0 && !Directory.Exists(target))
                {
                    continue;
                }

                var staging = $"{Path.TrimEndingDirectorySeparator(target)}.restore-{stamp}";
                Directory.CreateDirectory(staging);
                staged.Add((staging, target));
                foreach (var file in inRoot)
                {
                    var destination = Path.Combine(staging, Path.Combine(file.Path[$"files/{root}/".Length..].Split('/')));
                    Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                    await using var source = await zip.GetEntry(file.Path)!.OpenAsync(cancellationToken).ConfigureAwait(false);
                    await using var output = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous);
                    await source.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
                    files++;
                }
            }

            var tables = new List<RestoredTable>();
            foreach (var table in manifest.Tables)
            {
                tables.Add(await RestoreTableAsync(zip.GetEntry(table.Path)!, table.Name, cancellationToken).ConfigureAwait(false));
            }

            foreach (var (staging, target) in staged)
            {
                TaskUpload.Commit(staging, target);
            }

            staged.Clear();
            files += await RestoreEnvInfoAsync(zip, manifest, cancellationToken).ConfigureAwait(false);
            files += await RestoreKeyRingAsync(zip, manifest, cancellationToken).ConfigureAwait(false);
            return new RestoreResult(manifest.BackupId, manifest.CreatedAt, tables, files);
        }
        finally
        {
            foreach (var (staging, _) in staged)
            {
                TryDelete(staging);
            }
        }
    }

    private async Task<RestoredTable> RestoreTableAsync(ZipArchiveEntry entry, string name, CancellationToken cancellationToken)
    {
        var client = storage.Tables.GetTableClient(names.Table(name));
        await client.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);

        var keep = new HashSet<(string, string)>();
        await using (var stream = await entry.OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            await foreach (var entity in ReadEntitiesAsync(stream, cancellationToken).ConfigureAwait(false))
            {
                keep.Add((entity.PartitionKey, entity.RowKey));
            }
        }

        var stale = new List<TableEntity>();
        await foreach (var row in client.QueryAsync<TableEntity>(select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (!keep.Contains((row.PartitionKey, row.RowKey)))
            {
                stale.Add(row);
            }
        }

        var batch = new Batch(client);
        foreach (var row in stale)
        {
            await batch.AddAsync(new TableTransactionAction(TableTransactionActionType.Delete, row, ETag.All), 64, cancellationToken).ConfigureAwait(false);
        }

        await batch.FlushAsync(cancellationToken).ConfigureAwait(false);
        long rows = 0;
        await using (var stream = await entry.OpenAsync(cancellationToken).ConfigureAwait(false))
        using (var reader = new StreamReader(stream, Encoding.UTF8))
        {
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                var entity = TableEntityJson.Deserialize(line);
                await batch.AddAsync(new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity), line.Length, cancellationToken).ConfigureAwait(false);
                rows++;
            }
        }

        await batch.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new RestoredTable(name, rows, stale.Count);
    }

    private async Task<int> RestoreEnvInfoAsync(ZipArchive zip, BackupManifest manifest, CancellationToken cancellationToken)
    {
        var prefix = $"files/{BackupService.Roots.EnvInfo}/";
        var archived = manifest.Files.Where(f => f.Path.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        var names = archived.Select(f => f.Path[prefix.Length..]).ToHashSet(StringComparer.Ordinal);
        foreach (var file in archived)
        {
            await using var stream = await zip.GetEntry(file.Path)!.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            await share.WriteTextAsync($"{EnvInfoStore.Directory}/{file.Path[prefix.Length..]}", await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }

        foreach (var current in await share.ListFilesAsync(EnvInfoStore.Directory, cancellationToken).ConfigureAwait(false))
        {
            if (!names.Contains(current))
            {
                await share.DeleteAsync($"{EnvInfoStore.Directory}/{current}", cancellationToken).ConfigureAwait(false);
            }
        }

        return archived.Count;
    }

    private async Task<int> RestoreKeyRingAsync(ZipArchive zip, BackupManifest manifest, CancellationToken cancellationToken)
    {
        var prefix = $"files/{BackupService.Roots.KeyRing}/";
        var archived = manifest.Files.Where(f => f.Path.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        if (archived.Count == 0)
        {
            return 0;
        }

        var ring = storage.Blobs.GetBlobContainerClient(names.Container(BackupService.KeyRingContainer));
        await ring.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var file in archived)
        {
            await using var stream = await zip.GetEntry(file.Path)!.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
            copy.Position = 0;
            await ring.GetBlobClient(file.Path[prefix.Length..]).UploadAsync(copy, overwrite: true, cancellationToken).ConfigureAwait(false);
        }

        return archived.Count;
    }

    private static async IAsyncEnumerable<TableEntity> ReadEntitiesAsync(Stream stream, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length > 0)
            {
                yield return TableEntityJson.Deserialize(line);
            }
        }
    }

    private static ZipArchive Open(string archivePath)
    {
        try
        {
            return ZipFile.OpenRead(archivePath);
        }
        catch (InvalidDataException ex)
        {
            throw new BackupRejectedException("The file is not a ZIP archive: " + ex.Message, ex);
        }
    }

    private static async Task<BackupManifest> ReadManifestAsync(Dictionary<string, ZipArchiveEntry> entries, CancellationToken cancellationToken)
    {
        if (!entries.TryGetValue(BackupManifest.EntryName, out var entry))
        {
            throw new BackupRejectedException($"The archive has no {BackupManifest.EntryName}");
        }

        if (entry.Length > MaxManifestBytes)
        {
            throw new BackupRejectedException($"The archive's {BackupManifest.EntryName} is larger than {MaxManifestBytes / (1024 * 1024)} MB");
        }

        JsonDocument document;
        try
        {
            await using var stream = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
            document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException)
        {
            throw new BackupRejectedException($"The archive's {BackupManifest.EntryName} is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            // The version is checked before the rest is bound: a newer format may have other fields.
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("format_version", out var version)
                || !version.TryGetInt32(out var formatVersion))
            {
                throw new BackupRejectedException($"The archive's {BackupManifest.EntryName} has no format_version");
            }

            if (formatVersion > BackupManifest.CurrentFormatVersion)
            {
                throw new BackupRejectedException($"The archive's format version {formatVersion} is newer than this service reads (format version {BackupManifest.CurrentFormatVersion}, service {BackupService.ServiceVersion})");
            }

            if (formatVersion < 1)
            {
                throw new BackupRejectedException($"The archive's format version {formatVersion} is unknown (this service reads 1 to {BackupManifest.CurrentFormatVersion})");
            }

            try
            {
                return document.Deserialize<BackupManifest>(BackupManifest.Json) is { Tables: not null, Files: not null, BackupId: not null } manifest
                    ? manifest
                    : throw new BackupRejectedException($"The archive's {BackupManifest.EntryName} is empty or lacks its tables or files");
            }
            catch (JsonException ex)
            {
                throw new BackupRejectedException($"The archive's {BackupManifest.EntryName} does not describe a backup: {ex.Message}", ex);
            }
        }
    }

    private static ZipArchiveEntry Entry(Dictionary<string, ZipArchiveEntry> entries, string path) =>
        entries.TryGetValue(path, out var entry) && entry.FullName == path
            ? entry
            : throw new BackupRejectedException($"The manifest lists '{path}', which the archive does not hold");

    private long CheckExpanded(long sofar, long size)
    {
        var total = sofar + Math.Max(0, size);
        return size < 0 || total > options.MaxExpandedBytes
            ? throw new BackupRejectedException($"The archive expands to more than the limit of {options.MaxExpandedBytes / (1024 * 1024)} MB (BACKUP_MAX_EXPANDED_MB)")
            : total;
    }

    /// <summary>Reads an entry, counting no more than one byte past the size the manifest gives it (a ZIP header's size is not trusted).</summary>
    private static async Task<(long Size, string Sha256, long Rows)> ReadEntryAsync(ZipArchiveEntry entry, long expected, bool countRows, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long size = 0, rows = 0;
        var buffer = new byte[BufferSize];
        var keys = countRows ? new HashSet<(string, string)>() : null;
        var line = countRows ? new MemoryStream() : null;
        try
        {
            await using var stream = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                size += read;
                if (size > expected)
                {
                    return (size, "", rows);
                }

                hash.AppendData(buffer, 0, read);
                if (line is not null)
                {
                    var start = 0;
                    for (var i = 0; i < read; i++)
                    {
                        if (buffer[i] == (byte)'\n')
                        {
                            line.Write(buffer, start, i - start);
                            rows += CheckLine(entry.FullName, line, keys!, rows);
                            start = i + 1;
                        }
                    }

                    line.Write(buffer, start, read - start);
                }
            }

            if (line is { Length: > 0 })
            {
                rows += CheckLine(entry.FullName, line, keys!, rows);
            }
        }
        catch (InvalidDataException ex)
        {
            throw new BackupRejectedException($"The archive's entry '{entry.FullName}' cannot be read: {ex.Message}", ex);
        }
        finally
        {
            line?.Dispose();
        }

        return (size, Convert.ToHexStringLower(hash.GetHashAndReset()), rows);
    }

    private static int CheckLine(string path, MemoryStream line, HashSet<(string, string)> keys, long before)
    {
        var text = Encoding.UTF8.GetString(line.GetBuffer(), 0, (int)line.Length);
        line.SetLength(0);
        if (text.Length == 0)
        {
            return 0;
        }

        TableEntity entity;
        try
        {
            entity = TableEntityJson.Deserialize(text);
        }
        catch (FormatException ex)
        {
            throw new BackupRejectedException($"Line {before + 1} of '{path}' is not an entity: {ex.Message}", ex);
        }

        return keys.Add((entity.PartitionKey, entity.RowKey))
            ? 1
            : throw new BackupRejectedException($"Line {before + 1} of '{path}' repeats the key ('{entity.PartitionKey}', '{entity.RowKey}')");
    }

    private static void Compare(string path, long expectedSize, string? expectedSha, long size, string sha)
    {
        if (size != expectedSize)
        {
            throw new BackupRejectedException($"The archive's entry '{path}' has {(size > expectedSize ? "more than " : "")}{size} bytes; the manifest says {expectedSize}");
        }

        if (!string.Equals(sha, expectedSha, StringComparison.OrdinalIgnoreCase))
        {
            throw new BackupRejectedException($"The archive's entry '{path}' does not match its SHA-256 in the manifest (the archive was changed or damaged)");
        }
    }

    private static void CheckPath(string path)
    {
        string? problem = null;
        if (path.Length > MaxPathLength)
        {
            problem = $"is longer than {MaxPathLength} characters";
        }
        else if (path.StartsWith('/') || path.Contains('\\', StringComparison.Ordinal) || path.Contains(':', StringComparison.Ordinal) || path.Contains('\0', StringComparison.Ordinal))
        {
            problem = "is absolute or has a backslash, colon or NUL";
        }
        else if (path.Split('/') is var segments && segments.Any(s => s.Length == 0 || s is "." or ".." || s.Length > MaxNameLength || s.Any(char.IsControl)))
        {
            problem = "has an empty, '.', '..', over-long or control-character segment";
        }
        else if (path != BackupManifest.EntryName
            && !(segments.Length == 2 && segments[0] == "tables")
            && !(segments.Length >= 3 && segments[0] == "files" && BackupService.Roots.All.Contains(segments[1], StringComparer.Ordinal)
                && (segments[1] is not (BackupService.Roots.EnvInfo or BackupService.Roots.KeyRing) || segments.Length == 3)))
        {
            problem = "is outside manifest.json, tables/ and files/{env_info,scripts,projects,keyring}/";
        }

        if (problem is not null)
        {
            throw new BackupRejectedException($"The archive's entry '{path}' {problem}");
        }
    }

    private static bool IsTableName(string? name) =>
        name is { Length: > 0 and <= 50 } && char.IsAsciiLetterUpper(name[0]) && name.All(char.IsAsciiLetterOrDigit);

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover staging directory is only disk space; the restore's outcome matters more.
        }
    }

    /// <summary>Entity-group transactions: at most 100 actions, one partition, bounded bytes each.</summary>
    private sealed class Batch(TableClient client)
    {
        private readonly List<TableTransactionAction> _actions = [];
        private int _bytes;

        public async Task AddAsync(TableTransactionAction action, int bytes, CancellationToken cancellationToken)
        {
            if (_actions.Count > 0 && (_actions.Count == MaxBatch || _bytes + bytes > MaxBatchBytes || _actions[0].Entity.PartitionKey != action.Entity.PartitionKey))
            {
                await FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            _actions.Add(action);
            _bytes += bytes;
        }

        public async Task FlushAsync(CancellationToken cancellationToken)
        {
            if (_actions.Count == 0)
            {
                return;
            }

            await client.SubmitTransactionAsync(_actions, cancellationToken).ConfigureAwait(false);
            _actions.Clear();
            _bytes = 0;
        }
    }
}
