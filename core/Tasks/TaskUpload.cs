using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace EnvFabric.Core.Tasks;

/// <summary>Bounds on a task's script upload. Name and path lengths are UTF-8 bytes, as file systems count them.</summary>
/// <param name="MaxUploadBytes">Largest upload, counted while it is read (a Content-Length is not trusted).</param>
/// <param name="MaxExtractedBytes">Largest total a ZIP may expand to, counted as it is written.</param>
/// <param name="MaxEntries">Most entries (files and directories) in a ZIP.</param>
/// <param name="MaxPathLength">Longest entry path.</param>
/// <param name="MaxNameLength">Longest file or directory name (one path segment).</param>
public sealed record UploadLimits(
    long MaxUploadBytes = 50 * 1024 * 1024,
    long MaxExtractedBytes = 200 * 1024 * 1024,
    int MaxEntries = 10_000,
    int MaxPathLength = 400,
    int MaxNameLength = 255);

/// <summary>What a staged upload holds.</summary>
/// <param name="Files">The files written, relative to the staging directory with <c>/</c> separators, sorted ordinally.</param>
/// <param name="DetectedEntryPoint">The root-level script to run: <c>main.py</c> when present, else the only root-level
/// <c>.py</c> file; null when there is none or several.</param>
public sealed record UploadResult(IReadOnlyList<string> Files, string? DetectedEntryPoint);

/// <summary>How a ZIP archive is laid out on extraction.</summary>
/// <param name="KeepTopFolder">Keep a single top-level folder as it is (projects) instead of stripping it (task scripts).</param>
/// <param name="CheckPath">An extra check of every extracted path (relative, <c>/</c> separators): null to accept, else the reason.</param>
public sealed record ArchiveExtraction(bool KeepTopFolder = false, Func<string, string?>? CheckPath = null)
{
    /// <summary>Seed 003's task ZIPs: a single top-level folder is stripped.</summary>
    public static ArchiveExtraction TaskScripts { get; } = new();
}

/// <summary>An upload was refused; the message is the <c>error</c> of seed 003's "Failed to process uploaded file".</summary>
public sealed class UploadException : Exception
{
    public UploadException()
    {
    }

    public UploadException(string message)
        : base(message)
    {
    }

    public UploadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Turns an uploaded script (a single <c>.py</c> file or a ZIP archive) into a task's script directory: first staged
/// in a directory of its own, checked and written there, then swapped in place of the task's directory.
/// </summary>
public static class TaskUpload
{
    private const int BufferSize = 81_920;
    private const string MainScript = "main.py";

    // macOS Finder's "Compress" adds resource forks under this folder; they are never part of a script.
    private const string MacMetadataFolder = "__MACOSX";

    private static readonly byte[] ZipMagic = "PK\u0003\u0004"u8.ToArray();
    private static readonly byte[] EmptyZipMagic = "PK\u0005\u0006"u8.ToArray();

    /// <summary>
    /// Checks the upload and writes it to <paramref name="stagingDirectory"/>, which is created (it must not exist,
    /// or be empty). A file whose name ends in <c>.py</c> (any case) must be UTF-8 (a BOM is allowed) and is written
    /// under its own name (without any directory part the client sent). Anything else must be a ZIP archive, known by
    /// its signature, not its name; it is extracted after every entry is checked: no <c>..</c>, <c>.</c> or empty
    /// segments, absolute paths, backslashes, control characters, over-long names, links or special files, duplicate
    /// names (compared ignoring case, so the directory also works on case-insensitive shares), or more than the
    /// limits' entries and extracted bytes. Entries under <c>__MACOSX/</c> are skipped. When every entry sits under
    /// one top-level folder (a ZIP of the folder rather than of its contents), that folder is stripped; a ZIP with
    /// files at its root, <c>main.py</c> among them, is extracted as it is.
    /// </summary>
    /// <exception cref="UploadException">The upload was refused; <paramref name="stagingDirectory"/> no longer exists.</exception>
    /// <exception cref="IOException"><paramref name="stagingDirectory"/> exists and is not empty (it is left alone).</exception>
    public static Task<UploadResult> StageAsync(Stream content, string fileName, string stagingDirectory, UploadLimits limits, CancellationToken ct) =>
        StageCoreAsync(content, fileName, stagingDirectory, limits, ArchiveExtraction.TaskScripts, scriptsAllowed: true, ct);

    /// <summary>
    /// Like <see cref="StageAsync"/> for a ZIP archive only (a <c>.py</c> file is refused as not being one), extracted
    /// as <paramref name="extraction"/> says: with its single top-level folder kept or stripped, and every extracted
    /// path passed through its extra check.
    /// </summary>
    /// <exception cref="UploadException">The upload was refused; <paramref name="stagingDirectory"/> no longer exists.</exception>
    /// <exception cref="IOException"><paramref name="stagingDirectory"/> exists and is not empty (it is left alone).</exception>
    public static Task<UploadResult> StageArchiveAsync(
        Stream content, string fileName, string stagingDirectory, UploadLimits limits, ArchiveExtraction extraction, CancellationToken ct) =>
        StageCoreAsync(content, fileName, stagingDirectory, limits, extraction ?? throw new ArgumentNullException(nameof(extraction)), scriptsAllowed: false, ct);

    private static async Task<UploadResult> StageCoreAsync(
        Stream content, string fileName, string stagingDirectory, UploadLimits limits, ArchiveExtraction extraction, bool scriptsAllowed, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentException.ThrowIfNullOrEmpty(stagingDirectory);
        ArgumentNullException.ThrowIfNull(limits);

        var staging = Path.TrimEndingDirectorySeparator(Path.GetFullPath(stagingDirectory));
        if (Directory.Exists(staging) && Directory.EnumerateFileSystemEntries(staging).Any())
        {
            throw new IOException($"The staging directory '{staging}' is not empty.");
        }

        Directory.CreateDirectory(staging);
        try
        {
            var name = ClientFileName(fileName, limits);
            return scriptsAllowed && name.EndsWith(".py", StringComparison.OrdinalIgnoreCase)
                ? await StageScriptAsync(content, name, staging, limits, ct).ConfigureAwait(false)
                : await StageZipAsync(content, name, staging, limits, extraction, scriptsAllowed, ct).ConfigureAwait(false);
        }
        catch
        {
            // Refused, cancelled or failed: nothing of the upload stays behind.
            TryDelete(staging);
            throw;
        }
    }

    /// <summary>
    /// Puts <paramref name="stagingDirectory"/> in the place of <paramref name="targetDirectory"/>: the target is
    /// renamed aside (<c>target.old-{guid}</c>), the staging directory renamed into place, and the old one deleted.
    /// A failure of the second rename puts the old directory back. Both must be on one file system (a sibling
    /// staging directory is best); callers serialise commits to one target.
    /// </summary>
    public static void Commit(string stagingDirectory, string targetDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(stagingDirectory);
        ArgumentException.ThrowIfNullOrEmpty(targetDirectory);

        var staging = Path.TrimEndingDirectorySeparator(Path.GetFullPath(stagingDirectory));
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(targetDirectory));
        if (!Directory.Exists(staging))
        {
            throw new DirectoryNotFoundException($"The staging directory '{staging}' does not exist.");
        }

        if (!Directory.Exists(target))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            Directory.Move(staging, target);
            return;
        }

        var old = $"{target}.old-{Guid.NewGuid():N}";
        Directory.Move(target, old);
        try
        {
            Directory.Move(staging, target);
        }
        catch
        {
            Directory.Move(old, target);
            throw;
        }

        // The new scripts are in place; a leftover .old- directory is only disk space, not a failed commit.
        TryDelete(old);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the caller's outcome (the refusal, the commit) matters more than the leftover.
        }
    }

    private static string ClientFileName(string fileName, UploadLimits limits)
    {
        // Some clients send the path they read the file from (C:\fakepath\main.py): only the last segment counts.
        var name = fileName[(fileName.LastIndexOfAny(['/', '\\']) + 1)..].Trim();
        if (name.Length == 0 || name is "." or "..")
        {
            throw new UploadException($"The uploaded file has no usable name: {Show(fileName)}");
        }

        if (name.Any(char.IsControl))
        {
            throw new UploadException($"The uploaded file name {Show(name)} contains control characters");
        }

        if (Encoding.UTF8.GetByteCount(name) > limits.MaxNameLength)
        {
            throw new UploadException($"The uploaded file name {Show(name)} is longer than {limits.MaxNameLength} bytes");
        }

        return name;
    }

    private static async Task<UploadResult> StageScriptAsync(Stream content, string name, string staging, UploadLimits limits, CancellationToken ct)
    {
        var decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetDecoder();
        var buffer = new byte[BufferSize];
        var chars = new char[BufferSize + 1];
        long total = 0;
        var output = new FileStream(Path.Combine(staging, name), FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
        await using (output.ConfigureAwait(false))
        {
            int read;
            while ((read = await content.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                total += read;
                CheckUploadSize(total, limits);
                try
                {
                    decoder.GetChars(buffer, 0, read, chars, 0, flush: false);
                }
                catch (DecoderFallbackException ex)
                {
                    throw new UploadException($"'{name}' is not valid UTF-8 text (at byte {total - read + Math.Max(ex.Index, 0) + 1})");
                }

                await output.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
            }

            try
            {
                // A multi-byte sequence cut off by the end of the file.
                decoder.GetChars([], 0, 0, chars, 0, flush: true);
            }
            catch (DecoderFallbackException)
            {
                throw new UploadException($"'{name}' is not valid UTF-8 text (it ends inside a character)");
            }
        }

        if (total == 0)
        {
            throw new UploadException($"The uploaded file '{name}' is empty");
        }

        return new UploadResult([name], name);
    }

    private static async Task<UploadResult> StageZipAsync(
        Stream content, string name, string staging, UploadLimits limits, ArchiveExtraction extraction, bool scriptsAllowed, CancellationToken ct)
    {
        // ZipArchive needs a seekable stream; the upload is spooled to a temporary file that goes away on close.
        var spool = new FileStream(Path.Combine(Path.GetTempPath(), $"envfabric-upload-{Guid.NewGuid():N}.zip"), FileMode.CreateNew,
            FileAccess.ReadWrite, FileShare.None, BufferSize, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        await using (spool.ConfigureAwait(false))
        {
            var buffer = new byte[BufferSize];
            long total = 0;
            int read;
            while ((read = await content.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                total += read;
                CheckUploadSize(total, limits);
                await spool.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
            }

            if (total == 0)
            {
                throw new UploadException($"The uploaded file '{name}' is empty");
            }

            spool.Position = 0;
            var magic = new byte[4];
            await spool.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, ct).ConfigureAwait(false);
            if (!magic.AsSpan().SequenceEqual(ZipMagic) && !magic.AsSpan().SequenceEqual(EmptyZipMagic))
            {
                throw new UploadException(!scriptsAllowed || name.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)
                    ? $"'{name}' is not a ZIP archive (it does not start with the ZIP signature)"
                    : $"'{name}' is neither a Python script (.py) nor a ZIP archive");
            }

            spool.Position = 0;
            ZipArchive archive;
            try
            {
                archive = await ZipArchive.CreateAsync(spool, ZipArchiveMode.Read, leaveOpen: true, entryNameEncoding: null, ct).ConfigureAwait(false);
            }
            catch (InvalidDataException ex)
            {
                throw new UploadException($"'{name}' is a corrupt ZIP archive: {ex.Message}");
            }

            await using (archive.ConfigureAwait(false))
            {
                return await ExtractAsync(archive, staging, limits, extraction, ct).ConfigureAwait(false);
            }
        }
    }

    private static void CheckUploadSize(long total, UploadLimits limits)
    {
        if (total > limits.MaxUploadBytes)
        {
            throw new UploadException($"The upload is larger than the limit of {limits.MaxUploadBytes} bytes");
        }
    }

    private sealed record Entry(ZipArchiveEntry Source, string[] Segments, bool IsDirectory);

    private static async Task<UploadResult> ExtractAsync(ZipArchive archive, string staging, UploadLimits limits, ArchiveExtraction extraction, CancellationToken ct)
    {
        if (archive.Entries.Count > limits.MaxEntries)
        {
            throw new UploadException($"The ZIP archive has {archive.Entries.Count} entries, more than the limit of {limits.MaxEntries}");
        }

        var entries = new List<Entry>(archive.Entries.Count);
        long claimed = 0;
        foreach (var source in archive.Entries)
        {
            var entry = Check(source, limits);
            if (entry.Segments[0] == MacMetadataFolder)
            {
                continue;
            }

            entries.Add(entry);
            claimed += entry.IsDirectory ? 0 : source.Length;
        }

        if (!entries.Any(e => !e.IsDirectory))
        {
            throw new UploadException("The ZIP archive contains no files");
        }

        // The headers' sizes can lie (that is what a ZIP bomb does); this only refuses an honest oversized archive
        // early. The limit is enforced below on the bytes actually written.
        if (claimed > limits.MaxExtractedBytes)
        {
            throw new UploadException($"The ZIP archive expands to more than the limit of {limits.MaxExtractedBytes} bytes");
        }

        var strip = !extraction.KeepTopFolder && SingleTopFolder(entries) ? 1 : 0;
        var files = new Dictionary<string, Entry>(StringComparer.OrdinalIgnoreCase);
        var directories = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in entries)
        {
            var segments = entry.Segments[strip..];
            if (segments.Length == 0)
            {
                continue; // the stripped folder's own entry
            }

            var path = string.Join('/', segments);
            for (var i = 1; i < segments.Length; i++)
            {
                directories.TryAdd(string.Join('/', segments[..i]), entry.Source.FullName);
            }

            if (entry.IsDirectory)
            {
                directories.TryAdd(path, entry.Source.FullName);
            }
            else if (!files.TryAdd(path, entry))
            {
                throw new UploadException($"The ZIP archive has a duplicate entry {Show(entry.Source.FullName)} (names are compared ignoring case)");
            }
        }

        foreach (var path in files.Keys)
        {
            if (directories.TryGetValue(path, out var other))
            {
                throw new UploadException($"The ZIP entry {Show(files[path].Source.FullName)} is a file, but {Show(other)} needs it to be a directory");
            }
        }

        if (extraction.CheckPath is { } check)
        {
            foreach (var path in directories.Keys.Concat(files.Keys))
            {
                if (check(path) is { } refusal)
                {
                    throw new UploadException($"The ZIP entry {Show(path)} is refused: {refusal}");
                }
            }
        }

        var root = staging + Path.DirectorySeparatorChar;
        foreach (var directory in directories.Keys.Order(StringComparer.Ordinal))
        {
            Directory.CreateDirectory(Confine(root, directory));
        }

        long written = 0;
        var buffer = new byte[BufferSize];
        foreach (var (path, entry) in files)
        {
            var stream = await OpenAsync(entry.Source, ct).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var output = new FileStream(Confine(root, path), FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
                await using (output.ConfigureAwait(false))
                {
                    while (true)
                    {
                        int read;
                        try
                        {
                            read = await stream.ReadAsync(buffer, ct).ConfigureAwait(false);
                        }
                        catch (InvalidDataException ex)
                        {
                            throw new UploadException($"The ZIP entry {Show(entry.Source.FullName)} is corrupt: {ex.Message}");
                        }

                        if (read == 0)
                        {
                            break;
                        }

                        written += read;
                        if (written > limits.MaxExtractedBytes)
                        {
                            throw new UploadException($"The ZIP archive expands to more than the limit of {limits.MaxExtractedBytes} bytes");
                        }

                        await output.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                    }
                }
            }
        }

        var names = files.Keys.Order(StringComparer.Ordinal).ToArray();
        return new UploadResult(names, EntryPoint(names));
    }

    private static async Task<Stream> OpenAsync(ZipArchiveEntry entry, CancellationToken ct)
    {
        try
        {
            return await entry.OpenAsync(ct).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            // Unsupported compression methods and encrypted entries land here too.
            throw new UploadException($"The ZIP entry {Show(entry.FullName)} cannot be read: {ex.Message}");
        }
    }

    private static Entry Check(ZipArchiveEntry source, UploadLimits limits)
    {
        var fullName = source.FullName;
        if (fullName.Length == 0)
        {
            throw new UploadException("The ZIP archive has an entry with an empty name");
        }

        if (fullName.Any(char.IsControl))
        {
            throw new UploadException($"The ZIP entry {Show(fullName)} has control characters in its name");
        }

        if (fullName[0] is '/' or '\\' || (fullName.Length > 1 && char.IsAsciiLetter(fullName[0]) && fullName[1] == ':'))
        {
            throw new UploadException($"The ZIP entry {Show(fullName)} has an absolute path");
        }

        if (fullName.Contains('\\', StringComparison.Ordinal))
        {
            throw new UploadException($"The ZIP entry {Show(fullName)} contains a backslash");
        }

        if (Encoding.UTF8.GetByteCount(fullName) > limits.MaxPathLength)
        {
            throw new UploadException($"The ZIP entry {Show(fullName)} has a path longer than {limits.MaxPathLength} bytes");
        }

        var isDirectory = fullName.EndsWith('/');
        var segments = (isDirectory ? fullName[..^1] : fullName).Split('/');
        foreach (var segment in segments)
        {
            if (segment == "..")
            {
                throw new UploadException($"The ZIP entry {Show(fullName)} leaves its folder ('..')");
            }

            if (segment.Length == 0 || segment == ".")
            {
                throw new UploadException($"The ZIP entry {Show(fullName)} has an empty or '.' path segment");
            }

            if (Encoding.UTF8.GetByteCount(segment) > limits.MaxNameLength)
            {
                throw new UploadException($"The ZIP entry {Show(fullName)} has a name longer than {limits.MaxNameLength} bytes");
            }
        }

        // Unix tools keep the file mode in the high 16 bits; 0 there means no mode recorded (Windows tools).
        var type = (source.ExternalAttributes >> 16) & 0xF000;
        if (type == 0xA000)
        {
            throw new UploadException($"The ZIP entry {Show(fullName)} is a symbolic link");
        }

        if (type is not (0 or 0x8000 or 0x4000))
        {
            throw new UploadException($"The ZIP entry {Show(fullName)} is not a regular file or directory");
        }

        return new Entry(source, segments, isDirectory || type == 0x4000);
    }

    private static bool SingleTopFolder(List<Entry> entries)
    {
        var top = entries[0].Segments[0];
        return entries.All(e => e.Segments[0] == top && (e.IsDirectory || e.Segments.Length > 1));
    }

    private static string Confine(string root, string relative)
    {
        var full = Path.GetFullPath(Path.Combine(root, relative));
        return full.StartsWith(root, StringComparison.Ordinal)
            ? full
            : throw new UploadException($"The ZIP entry {Show(relative)} resolves outside the script directory");
    }

    private static string? EntryPoint(string[] files)
    {
        if (files.Contains(MainScript, StringComparer.Ordinal))
        {
            return MainScript;
        }

        var scripts = files.Where(f => !f.Contains('/', StringComparison.Ordinal) && f.EndsWith(".py", StringComparison.OrdinalIgnoreCase)).Take(2).ToArray();
        return scripts.Length == 1 ? scripts[0] : null;
    }

    // Names come from the client: quoted, control characters escaped, and cut short.
    private static string Show(string value)
    {
        var text = new StringBuilder(Math.Min(value.Length, 120) + 2).Append('\'');
        foreach (var c in value.Length > 120 ? value[..120] : value)
        {
            if (char.IsControl(c))
            {
                text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                text.Append(c);
            }
        }

        return text.Append(value.Length > 120 ? "...'" : "'").ToString();
    }
}
