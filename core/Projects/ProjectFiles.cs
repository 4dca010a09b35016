using System.Text;

namespace EnvFabric.Core.Projects;

/// <summary>What a file operation came to.</summary>
public enum ProjectFileStatus
{
    /// <summary>Done.</summary>
    Ok,

    /// <summary>The path breaks a rule of <see cref="ProjectPath"/> (or names the root where it may not).</summary>
    Invalid,

    /// <summary>The path (or the source of a move) does not exist.</summary>
    NotFound,

    /// <summary>The parent folder of a file or folder to write does not exist (or is a file).</summary>
    ParentMissing,

    /// <summary>The target exists already (create, move).</summary>
    Exists,

    /// <summary>A folder where a file is needed, or the reverse.</summary>
    WrongType,

    /// <summary>Over the edit byte cap.</summary>
    TooLarge,

    /// <summary>Not UTF-8 text (NUL bytes or invalid sequences).</summary>
    Binary,
}

/// <summary>The outcome of a file operation: its status, why when not <see cref="ProjectFileStatus.Ok"/>, and whether a file was created.</summary>
public sealed record ProjectFileResult(ProjectFileStatus Status, string? Error = null, bool Created = false)
{
    public static ProjectFileResult Done(bool created = false) => new(ProjectFileStatus.Ok, null, created);
}

/// <summary>One entry of a directory listing.</summary>
/// <param name="Name">The entry's name.</param>
/// <param name="Path">Its path relative to the project root.</param>
/// <param name="Type"><c>file</c> or <c>directory</c>.</param>
/// <param name="Size">Bytes of a file; null for a directory.</param>
/// <param name="ModifiedAt">Last write time.</param>
public sealed record ProjectFileEntry(string Name, string Path, string Type, long? Size, DateTimeOffset ModifiedAt);

/// <summary>A text file's content and its encoding (<c>utf-8</c>, or <c>utf-8-sig</c> when it starts with a BOM).</summary>
public sealed record ProjectText(string Content, string Encoding, long Size, DateTimeOffset ModifiedAt);

/// <summary>
/// The file browser and editor over one project's directory. Every path goes through <see cref="ProjectPath.Resolve"/>
/// first, so nothing outside the project is read or touched; a refused request changes nothing. Writes are atomic
/// (a temporary file beside the target, then a rename).
/// </summary>
public sealed class ProjectFiles(string root, int maxEditBytes)
{
    /// <summary><c>file</c>.</summary>
    public const string FileType = "file";

    /// <summary><c>directory</c>.</summary>
    public const string DirectoryType = "directory";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    /// <summary>The project's root directory.</summary>
    public string Root { get; } = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));

    /// <summary>The entries of the folder <paramref name="path"/> ("" = the root), folders first, then by name.</summary>
    public (ProjectFileResult Result, IReadOnlyList<ProjectFileEntry> Entries) List(string? path)
    {
        var (full, error) = ProjectPath.Resolve(Root, path);
        if (full is null)
        {
            return (new(ProjectFileStatus.Invalid, error), []);
        }

        if (!Directory.Exists(full))
        {
            return File.Exists(full)
                ? (new(ProjectFileStatus.WrongType, $"'{ProjectPath.Normalize(path)}' is a file, not a folder"), [])
                : (new(ProjectFileStatus.NotFound, $"'{ProjectPath.Normalize(path)}' does not exist"), []);
        }

        var prefix = ProjectPath.Normalize(path);
        var entries = new DirectoryInfo(full).EnumerateFileSystemInfos()
            .Select(info =>
            {
                var isDirectory = info is DirectoryInfo || (info.Attributes & FileAttributes.Directory) != 0;
                return new ProjectFileEntry(
                    info.Name,
                    prefix.Length == 0 ? info.Name : prefix + "/" + info.Name,
                    isDirectory ? DirectoryType : FileType,
                    isDirectory ? null : (info as FileInfo)?.Length,
                    info.LastWriteTimeUtc);
            })
            .OrderBy(e => e.Type == DirectoryType ? 0 : 1)
            .ThenBy(e => e.Name, StringComparer.Ordinal)
            .ToList();
        return (ProjectFileResult.Done(), entries);
    }

    /// <summary>The text of the file <paramref name="path"/>: refused over the byte cap, or when not UTF-8 text.</summary>
    public async Task<(ProjectFileResult Result, ProjectText? Text)> ReadAsync(string? path, CancellationToken cancellationToken)
    {
        var (full, error) = ProjectPath.Resolve(Root, path, allowRoot: false);
        if (full is null)
        {
            return (new(ProjectFileStatus.Invalid, error), null);
        }

        var info = new FileInfo(full);
        if (!info.Exists)
        {
            return Directory.Exists(full)
                ? (new(ProjectFileStatus.WrongType, $"'{ProjectPath.Normalize(path)}' is a folder, not a file"), null)
                : (new(ProjectFileStatus.NotFound, $"'{ProjectPath.Normalize(path)}' does not exist"), null);
        }

        if (info.Length > maxEditBytes)
        {
            return (new(ProjectFileStatus.TooLarge, $"'{ProjectPath.Normalize(path)}' is {info.Length} bytes, more than the limit of {maxEditBytes} bytes"), null);
        }

        var bytes = await File.ReadAllBytesAsync(full, cancellationToken).ConfigureAwait(false);
        if (bytes.Length > maxEditBytes)
        {
            return (new(ProjectFileStatus.TooLarge, $"'{ProjectPath.Normalize(path)}' is more than the limit of {maxEditBytes} bytes"), null);
        }

        if (Array.IndexOf(bytes, (byte)0) >= 0)
        {
            return (new(ProjectFileStatus.Binary, $"'{ProjectPath.Normalize(path)}' is a binary file (it contains NUL bytes)"), null);
        }

        var bom = bytes.AsSpan().StartsWith(Bom);
        string text;
        try
        {
            text = StrictUtf8.GetString(bytes, bom ? Bom.Length : 0, bytes.Length - (bom ? Bom.Length : 0));
        }
        catch (DecoderFallbackException)
        {
            return (new(ProjectFileStatus.Binary, $"'{ProjectPath.Normalize(path)}' is not UTF-8 text"), null);
        }

        return (ProjectFileResult.Done(), new ProjectText(text, bom ? "utf-8-sig" : "utf-8", bytes.Length, info.LastWriteTimeUtc));
    }

    /// <summary>
    /// Writes <paramref name="content"/> as UTF-8 to the file <paramref name="path"/> (keeping a BOM the file had):
    /// an existing file is replaced atomically, a missing one is created when its folder exists.
    /// </summary>
    public async Task<ProjectFileResult> WriteAsync(string? path, string content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var (full, error) = ProjectPath.Resolve(Root, path, allowRoot: false);
        if (full is null)
        {
            return new(ProjectFileStatus.Invalid, error);
        }

        if (Directory.Exists(full))
        {
            return new(ProjectFileStatus.WrongType, $"'{ProjectPath.Normalize(path)}' is a folder, not a file");
        }

        if (!Directory.Exists(Path.GetDirectoryName(full)))
        {
            return new(ProjectFileStatus.ParentMissing, $"the folder of '{ProjectPath.Normalize(path)}' does not exist");
        }

        var existed = File.Exists(full);
        var keepBom = existed && await StartsWithBomAsync(full, cancellationToken).ConfigureAwait(false);
        var bytes = keepBom ? [.. Bom, .. StrictUtf8.GetBytes(content)] : StrictUtf8.GetBytes(content);
        if (bytes.Length > maxEditBytes)
        {
            return new(ProjectFileStatus.TooLarge, $"the content is {bytes.Length} bytes, more than the limit of {maxEditBytes} bytes");
        }

        await WriteAtomicallyAsync(full, bytes, existed, cancellationToken).ConfigureAwait(false);
        DropCompiled(full);
        return ProjectFileResult.Done(created: !existed);
    }

    /// <summary>
    /// Removes the compiled copies of a Python module (<c>__pycache__/{name}.*.pyc</c>): Python trusts one whose
    /// recorded source size and modification second still match, so an edit of the same length within the same
    /// second would otherwise run the old code.
    /// </summary>
    public static void DropCompiled(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.EndsWith(".py", StringComparison.Ordinal))
        {
            return;
        }

        var cache = Path.Combine(Path.GetDirectoryName(source)!, "__pycache__");
        if (!Directory.Exists(cache) || new DirectoryInfo(cache).LinkTarget is not null)
        {
            return;
        }

        foreach (var compiled in Directory.EnumerateFiles(cache, Path.GetFileNameWithoutExtension(source) + ".*.pyc"))
        {
            File.Delete(compiled);
        }
    }

    /// <summary>Creates the file (with <paramref name="content"/>) or folder <paramref name="path"/>; refused when it exists.</summary>
    public async Task<ProjectFileResult> CreateAsync(string? path, string type, string? content, CancellationToken cancellationToken)
    {
        var (full, error) = ProjectPath.Resolve(Root, path, allowRoot: false);
        if (full is null)
        {
            return new(ProjectFileStatus.Invalid, error);
        }

        if (type is not (FileType or DirectoryType))
        {
            return new(ProjectFileStatus.Invalid, "type must be 'file' or 'directory'");
        }

        if (type == DirectoryType && content is not null)
        {
            return new(ProjectFileStatus.Invalid, "a directory has no content");
        }

        if (File.Exists(full) || Directory.Exists(full) || new FileInfo(full).LinkTarget is not null)
        {
            return new(ProjectFileStatus.Exists, $"'{ProjectPath.Normalize(path)}' already exists");
        }

        if (!Directory.Exists(Path.GetDirectoryName(full)))
        {
            return new(ProjectFileStatus.ParentMissing, $"the folder of '{ProjectPath.Normalize(path)}' does not exist");
        }

        if (type == DirectoryType)
        {
            Directory.CreateDirectory(full);
            return ProjectFileResult.Done(created: true);
        }

        var bytes = StrictUtf8.GetBytes(content ?? "");
        if (bytes.Length > maxEditBytes)
        {
            return new(ProjectFileStatus.TooLarge, $"the content is {bytes.Length} bytes, more than the limit of {maxEditBytes} bytes");
        }

        try
        {
            // CreateNew: a file that appeared meanwhile is not overwritten.
            var output = new FileStream(full, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, useAsync: true);
            await using (output.ConfigureAwait(false))
            {
                await output.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (IOException) when (File.Exists(full))
        {
            return new(ProjectFileStatus.Exists, $"'{ProjectPath.Normalize(path)}' already exists");
        }

        return ProjectFileResult.Done(created: true);
    }

    /// <summary>Removes the file or folder (with its contents) <paramref name="path"/>; never the root. A link is removed, not followed.</summary>
    public ProjectFileResult Delete(string? path)
    {
        var (full, error) = ProjectPath.Resolve(Root, path, allowRoot: false);
        if (full is null)
        {
            return new(ProjectFileStatus.Invalid, error);
        }

        var info = new FileInfo(full);
        if (info.LinkTarget is not null || info.Exists)
        {
            info.Delete();
        }
        else if (Directory.Exists(full))
        {
            Directory.Delete(full, recursive: true);
        }
        else
        {
            return new(ProjectFileStatus.NotFound, $"'{ProjectPath.Normalize(path)}' does not exist");
        }

        return ProjectFileResult.Done();
    }

    /// <summary>Moves (renames) a file or folder; refused when the target exists, its folder is missing, or a folder would move into itself.</summary>
    public ProjectFileResult Move(string? from, string? to)
    {
        var (source, sourceError) = ProjectPath.Resolve(Root, from, allowRoot: false);
        if (source is null)
        {
            return new(ProjectFileStatus.Invalid, "from: " + sourceError);
        }

        var (target, targetError) = ProjectPath.Resolve(Root, to, allowRoot: false);
        if (target is null)
        {
            return new(ProjectFileStatus.Invalid, "to: " + targetError);
        }

        var sourceInfo = new FileInfo(source);
        var isLink = sourceInfo.LinkTarget is not null;
        var isFile = isLink || sourceInfo.Exists;
        if (!isFile && !Directory.Exists(source))
        {
            return new(ProjectFileStatus.NotFound, $"'{ProjectPath.Normalize(from)}' does not exist");
        }

        if (File.Exists(target) || Directory.Exists(target) || new FileInfo(target).LinkTarget is not null)
        {
            return new(ProjectFileStatus.Exists, $"'{ProjectPath.Normalize(to)}' already exists");
        }

        if (!Directory.Exists(Path.GetDirectoryName(target)))
        {
            return new(ProjectFileStatus.ParentMissing, $"the folder of '{ProjectPath.Normalize(to)}' does not exist");
        }

        if (!isFile && ProjectPath.IsUnder(source, target))
        {
            return new(ProjectFileStatus.Invalid, $"'{ProjectPath.Normalize(from)}' cannot move into itself");
        }

        if (isFile)
        {
            File.Move(source, target, overwrite: false);
        }
        else
        {
            Directory.Move(source, target);
        }

        return ProjectFileResult.Done();
    }

    /// <summary>Total bytes and number of files under the root (links are counted, not followed).</summary>
    public (long Bytes, int Files) Measure() => Measure(Root);

    /// <summary>Total bytes and number of files under <paramref name="directory"/> (links are counted, not followed).</summary>
    public static (long Bytes, int Files) Measure(string directory)
    {
        long bytes = 0;
        var files = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true };
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", options))
        {
            bytes += file.Length;
            files++;
        }

        return (bytes, files);
    }

    private static async Task<bool> StartsWithBomAsync(string path, CancellationToken cancellationToken)
    {
        var head = new byte[3];
        var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 4096, useAsync: true);
        await using (input.ConfigureAwait(false))
        {
            var read = await input.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            return read == 3 && head.AsSpan().SequenceEqual(Bom);
        }
    }

    private static async Task WriteAtomicallyAsync(string full, byte[] bytes, bool existed, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, useAsync: true);
            await using (output.ConfigureAwait(false))
            {
                await output.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            if (existed && !OperatingSystem.IsWindows())
            {
                // An executable script stays executable.
                File.SetUnixFileMode(temp, File.GetUnixFileMode(full));
            }

            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
