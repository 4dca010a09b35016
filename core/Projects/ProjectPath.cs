using System.Text;

namespace EnvFabric.Core.Projects;

/// <summary>
/// The rules for a path a user gives inside a project: relative to the project root with <c>/</c> separators, no
/// <c>..</c>, <c>.</c> or empty segments, no absolute path, backslash, NUL or other control character, no segment
/// over <see cref="MaxSegmentBytes"/> or path over <see cref="MaxPathBytes"/> (UTF-8 bytes), no Windows device name
/// (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with any extension: the share may be served to Windows), and no existing
/// component that is a symbolic link resolving outside the project.
/// </summary>
public static class ProjectPath
{
    /// <summary>Longest path, in UTF-8 bytes.</summary>
    public const int MaxPathBytes = 1024;

    /// <summary>Longest file or directory name, in UTF-8 bytes.</summary>
    public const int MaxSegmentBytes = 255;

    private static readonly HashSet<string> DeviceNames = new(
        ["CON", "PRN", "AUX", "NUL", .. Enumerable.Range(1, 9).SelectMany(i => new[] { "COM" + i, "LPT" + i })],
        StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Null when <paramref name="path"/> follows the textual rules, else the reason. Null or empty is the root, refused
    /// unless <paramref name="allowRoot"/>; one trailing <c>/</c> is allowed.
    /// </summary>
    public static string? Validate(string? path, bool allowRoot = true)
    {
        if (string.IsNullOrEmpty(path))
        {
            return allowRoot ? null : "the path must name a file or folder inside the project, not its root";
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            return "the path contains a NUL character";
        }

        if (path.Any(char.IsControl))
        {
            return "the path contains control characters";
        }

        if (path.Contains('\\', StringComparison.Ordinal))
        {
            return "the path contains a backslash (use '/')";
        }

        if (path[0] == '/' || (path.Length > 1 && char.IsAsciiLetter(path[0]) && path[1] == ':'))
        {
            return "the path must be relative to the project root, not absolute";
        }

        if (Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
        {
            return $"the path is longer than {MaxPathBytes} bytes";
        }

        var trimmed = path.EndsWith('/') ? path[..^1] : path;
        foreach (var segment in trimmed.Split('/'))
        {
            if (segment == "..")
            {
                return "the path must not contain '..'";
            }

            if (segment.Length == 0 || segment == ".")
            {
                return "the path must not contain empty or '.' segments";
            }

            if (Encoding.UTF8.GetByteCount(segment) > MaxSegmentBytes)
            {
                return $"a name in the path is longer than {MaxSegmentBytes} bytes";
            }

            var stem = segment.Split('.')[0].TrimEnd(' ');
            if (DeviceNames.Contains(stem))
            {
                return $"'{segment}' is a reserved device name";
            }
        }

        return null;
    }

    /// <summary>The path's segments after <see cref="Validate"/> accepted it (none for the root).</summary>
    public static string[] Segments(string? path) =>
        string.IsNullOrEmpty(path) ? [] : (path.EndsWith('/') ? path[..^1] : path).Split('/');

    /// <summary>The path in its canonical form (no trailing <c>/</c>; empty for the root).</summary>
    public static string Normalize(string? path) => string.Join('/', Segments(path));

    /// <summary>
    /// The absolute path of <paramref name="path"/> under <paramref name="root"/>, or the reason it is refused: the
    /// textual rules, then every existing component is checked with <see cref="FileSystemInfo.ResolveLinkTarget"/>,
    /// and one that is a link whose final target lies outside the root refuses the path.
    /// </summary>
    public static (string? FullPath, string? Error) Resolve(string root, string? path, bool allowRoot = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        if (Validate(path, allowRoot) is { } error)
        {
            return (null, error);
        }

        var top = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var roots = RootForms(top);
        var current = top;
        foreach (var segment in Segments(path))
        {
            current = Path.Combine(current, segment);
            FileSystemInfo info = new FileInfo(current);
            if (!info.Exists && Directory.Exists(current))
            {
                info = new DirectoryInfo(current);
            }

            if (info.LinkTarget is null)
            {
                if (!info.Exists && !Directory.Exists(current))
                {
                    break; // nothing further exists, so nothing further can be a link
                }

                continue;
            }

            FileSystemInfo? target;
            try
            {
                target = info.ResolveLinkTarget(returnFinalTarget: true);
            }
            catch (IOException)
            {
                return (null, $"'{Normalize(path)}' goes through a symbolic link that cannot be resolved");
            }

            var resolved = target is null ? null : Path.TrimEndingDirectorySeparator(Path.GetFullPath(target.FullName));
            if (resolved is null || !roots.Any(r => IsUnder(r, resolved)))
            {
                return (null, $"'{Normalize(path)}' goes through a symbolic link that points outside the project");
            }
        }

        var full = Segments(path).Length == 0 ? top : Path.GetFullPath(Path.Combine([top, .. Segments(path)]));
        return IsUnder(top, full) ? (full, null) : (null, "the path resolves outside the project");
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="root"/> or lies below it (both full, without trailing separators).</summary>
    public static bool IsUnder(string root, string path) =>
        string.Equals(root, path, StringComparison.Ordinal) || path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    // The root as written and, when it is itself a link (DATA_ROOT on a mounted path), as resolved.
    private static string[] RootForms(string root)
    {
        var info = new DirectoryInfo(root);
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
        {
            return [root, Path.TrimEndingDirectorySeparator(Path.GetFullPath(target.FullName))];
        }

        return [root];
    }
}
