namespace EnvFabric.Core.Share;

/// <summary>
/// The share (the NAS, <c>DATA_ROOT</c>) as small text files at relative paths such as
/// <c>env_info/ml.json</c>. Two implementations: a local directory and Azure Files. Paths are relative,
/// forward-slash separated and confined to the share: <c>..</c>, rooted paths and empty segments are refused.
/// </summary>
public interface IShareStore
{
    /// <summary>The file's text, or null when it does not exist.</summary>
    Task<string?> ReadTextAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Writes the whole file, creating directories as needed; readers never see a half-written file.</summary>
    Task WriteTextAsync(string path, string text, CancellationToken cancellationToken = default);

    /// <summary>Deletes the file; true when it existed.</summary>
    Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>The names (not paths) of the files directly in <paramref name="directory"/>; empty when it does not exist.</summary>
    Task<IReadOnlyList<string>> ListFilesAsync(string directory, CancellationToken cancellationToken = default);
}

/// <summary>Checks share-relative paths.</summary>
public static class SharePath
{
    /// <summary>The path's segments after validation; throws <see cref="ArgumentException"/> for a path that could leave the share.</summary>
    public static string[] Split(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (path.StartsWith('/') || path.Contains('\\', StringComparison.Ordinal) || path.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException($"share path '{path}' must be relative and use '/'", nameof(path));
        }

        var segments = path.Split('/');
        if (segments.Any(s => s.Length == 0 || s is "." or ".." || s.Any(char.IsControl)))
        {
            throw new ArgumentException($"share path '{path}' has an empty, '.' or '..' segment", nameof(path));
        }

        return segments;
    }
}
