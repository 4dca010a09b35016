namespace EnvFabric.Core.Share;

/// <summary><see cref="IShareStore"/> on a local (or mounted) directory; writes go to a temp file then rename.</summary>
public sealed class LocalShareStore(string root) : IShareStore
{
    private readonly string _root = Path.GetFullPath(root ?? throw new ArgumentNullException(nameof(root)));

    /// <summary>The directory behind the share.</summary>
    public string Root => _root;

    /// <inheritdoc />
    public async Task<string?> ReadTextAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = Resolve(path);
        try
        {
            return await File.ReadAllTextAsync(full, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task WriteTextAsync(string path, string text, CancellationToken cancellationToken = default)
    {
        var full = Resolve(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        await File.WriteAllTextAsync(temp, text, cancellationToken).ConfigureAwait(false);
        File.Move(temp, full, overwrite: true);
    }

    /// <inheritdoc />
    public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = Resolve(path);
        if (!File.Exists(full))
        {
            return Task.FromResult(false);
        }

        File.Delete(full);
        return Task.FromResult(true);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListFilesAsync(string directory, CancellationToken cancellationToken = default)
    {
        var full = Resolve(directory);
        IReadOnlyList<string> files = Directory.Exists(full)
            ? Directory.EnumerateFiles(full).Select(Path.GetFileName).Where(n => n is not null && !n.EndsWith(".tmp", StringComparison.Ordinal)).Select(n => n!).Order(StringComparer.Ordinal).ToArray()
            : [];
        return Task.FromResult(files);
    }

    private string Resolve(string path)
    {
        var full = Path.GetFullPath(Path.Combine([_root, .. SharePath.Split(path)]));
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"share path '{path}' leaves the share", nameof(path));
        }

        return full;
    }
}
