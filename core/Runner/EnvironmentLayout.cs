namespace EnvFabric.Core.Runner;

/// <summary>
/// Where each backend keeps things inside an environment directory. The directory is the unit the API names,
/// renames and deletes; the interpreter tree, the lock and the declared specs live inside it.
/// </summary>
public static class EnvironmentLayout
{
    /// <summary>The interpreter tree: <c>.venv</c> for uv and venv, <c>env</c> (a conda prefix) for conda.</summary>
    public static string PrefixDirectory(EnvironmentBackend backend, string environmentDirectory) =>
        Path.Combine(environmentDirectory, backend == EnvironmentBackend.Conda ? "env" : ".venv");

    /// <summary>The directory put first on PATH for the environment's processes.</summary>
    public static string BinDirectory(EnvironmentBackend backend, string environmentDirectory) =>
        Path.Combine(PrefixDirectory(backend, environmentDirectory), "bin");

    /// <summary>The environment's interpreter.</summary>
    public static string Python(EnvironmentBackend backend, string environmentDirectory) =>
        Path.Combine(BinDirectory(backend, environmentDirectory), "python");

    /// <summary>The lock file's name: <c>uv.lock</c>, <c>requirements.lock.txt</c> (pip freeze) or <c>conda-explicit.txt</c>.</summary>
    public static string LockFileName(EnvironmentBackend backend) => backend switch
    {
        EnvironmentBackend.Uv => "uv.lock",
        EnvironmentBackend.Conda => "conda-explicit.txt",
        _ => "requirements.lock.txt",
    };

    /// <summary>The lock format of a backend.</summary>
    public static LockKind LockKindOf(EnvironmentBackend backend) => backend switch
    {
        EnvironmentBackend.Uv => LockKind.UvLock,
        EnvironmentBackend.Conda => LockKind.CondaExplicit,
        _ => LockKind.PipFreeze,
    };

    /// <summary>The file holding the declared specs: <c>pyproject.toml</c> for uv, <c>requirements.in</c> otherwise.</summary>
    public static string DeclaredFileName(EnvironmentBackend backend) =>
        backend == EnvironmentBackend.Uv ? "pyproject.toml" : "requirements.in";

    /// <summary>True when <paramref name="path"/> is <paramref name="root"/> itself or below it (after normalisation).</summary>
    public static bool IsUnder(string root, string path, bool allowRoot = false)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(path);
        var fullRoot = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (string.Equals(full, fullRoot, StringComparison.Ordinal))
        {
            return allowRoot;
        }

        return full.StartsWith(fullRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }
}
