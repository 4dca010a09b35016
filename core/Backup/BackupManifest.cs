using System.Text.Json;
using System.Text.Json.Serialization;

namespace EnvFabric.Core.Backup;

/// <summary>
/// <c>manifest.json</c> of a backup archive: what it holds, with each entry's size and SHA-256 (of the entry's
/// uncompressed bytes), so a restore can refuse an archive that was changed or cut short.
/// </summary>
public sealed record BackupManifest
{
    /// <summary>The format this build writes and the newest it reads.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>The archive entry holding the manifest.</summary>
    public const string EntryName = "manifest.json";

    /// <summary>The JSON form of manifests (snake_case, indented).</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The archive format; a reader refuses a newer one.</summary>
    public required int FormatVersion { get; init; }

    /// <summary>The writing service's informational version.</summary>
    public required string ServiceVersion { get; init; }

    /// <summary>The backup's id (<c>yyyyMMddTHHmmssZ-xxxxxx</c>).</summary>
    public required string BackupId { get; init; }

    /// <summary>When the table snapshot was taken.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The storage prefix of the deployment that wrote it (tables are named without it).</summary>
    public string StoragePrefix { get; init; } = "";

    /// <summary>Whether a second pass over every table found no row added, changed or removed while reading.</summary>
    public required bool Consistent { get; init; }

    /// <summary>How many snapshots were taken until one was consistent (or the attempts ran out).</summary>
    public required int Attempts { get; init; }

    /// <summary>The tables that changed during the last attempt's read; empty when consistent.</summary>
    public IReadOnlyList<string> ChangedTables { get; init; } = [];

    /// <summary>One entry per table, named without the storage prefix.</summary>
    public required IReadOnlyList<BackupTableEntry> Tables { get; init; }

    /// <summary>One entry per file.</summary>
    public required IReadOnlyList<BackupFileEntry> Files { get; init; }

    /// <summary>The sums.</summary>
    public required BackupTotals Totals { get; init; }
}

/// <summary>A table of a backup.</summary>
/// <param name="Name">The table's name without the storage prefix, e.g. <c>Tasks</c>.</param>
/// <param name="Path">Its archive entry, <c>tables/{Name}.jsonl</c>.</param>
/// <param name="Rows">Entities in it (lines of the entry).</param>
/// <param name="Size">The entry's uncompressed size in bytes.</param>
/// <param name="Sha256">The entry's SHA-256, lower-case hex.</param>
public sealed record BackupTableEntry(string Name, string Path, long Rows, long Size, string Sha256);

/// <summary>A file of a backup.</summary>
/// <param name="Path">Its archive entry, <c>files/{root}/...</c>.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Sha256">Its SHA-256, lower-case hex.</param>
public sealed record BackupFileEntry(string Path, long Size, string Sha256);

/// <summary>The sums of a backup.</summary>
/// <param name="Tables">Tables.</param>
/// <param name="Rows">Rows over all tables.</param>
/// <param name="Files">Files.</param>
/// <param name="Bytes">Uncompressed bytes of every table and file entry.</param>
public sealed record BackupTotals(int Tables, long Rows, int Files, long Bytes);
