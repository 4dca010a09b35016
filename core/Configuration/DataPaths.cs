namespace EnvFabric.Core.Configuration;

/// <summary>
/// The absolute local paths derived from the settings: the share (NAS) layout of ARCHITECTURE.md §4 and the
/// host's own local state. Relative settings resolve against the folder of <c>local.settings.json</c>.
/// </summary>
public sealed class DataPaths
{
    /// <summary>Resolves every path once.</summary>
    public DataPaths(EnvFabricOptions options, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(options);
        DataRoot = options.ResolveDataRoot(baseDirectory);
        Envs = options.ResolveEnvsBasePath(baseDirectory);
        UvCache = options.ResolveUvCacheDir(baseDirectory);
        EnvInfo = Path.Combine(DataRoot, "env_info");
        Scripts = Path.Combine(DataRoot, "scripts");
        Projects = Path.Combine(DataRoot, "projects");
        Python = Path.Combine(DataRoot, "python");
        Host = Path.Combine(DataRoot, "host");
    }

    /// <summary>DATA_ROOT: the share's mount point.</summary>
    public string DataRoot { get; }

    /// <summary>One directory per environment.</summary>
    public string Envs { get; }

    /// <summary>uv's cache, on the same file system as <see cref="Envs"/>.</summary>
    public string UvCache { get; }

    /// <summary>Seed 000's per-environment metadata files.</summary>
    public string EnvInfo { get; }

    /// <summary>Task scripts, <c>scripts/&lt;task_id&gt;/</c>.</summary>
    public string Scripts { get; }

    /// <summary>Uploaded projects.</summary>
    public string Projects { get; }

    /// <summary>Interpreters installed by uv (<c>UV_PYTHON_INSTALL_DIR</c>).</summary>
    public string Python { get; }

    /// <summary>The host's local state (generated master key); not part of the share.</summary>
    public string Host { get; }
}
