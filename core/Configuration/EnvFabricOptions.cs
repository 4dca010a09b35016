using System.ComponentModel.DataAnnotations;

namespace EnvFabric.Core.Configuration;

/// <summary>
/// The service's flat settings, named as in <c>local.settings.json</c> <c>Values</c> and the seeds
/// (DATA_ROOT, ENVS_BASE_PATH, ...). Bound from the configuration root, so environment variables of the
/// same name override the file.
/// </summary>
public sealed class EnvFabricOptions
{
    /// <summary>Root of all local data: the share (NAS) and, locally, keys and Azurite's files.</summary>
    [Required(ErrorMessage = "DATA_ROOT must be set")]
    public string DataRoot { get; set; } = ".data";

    /// <summary>Where environments live; defaults to <c>{DATA_ROOT}/envs</c>.</summary>
    public string? EnvsBasePath { get; set; }

    /// <summary>uv's cache; must be on the same file system as <see cref="EnvsBasePath"/> (hardlinks).</summary>
    public string? UvCacheDir { get; set; }

    /// <summary>Python version used when a request names none.</summary>
    [RegularExpression(@"^3\.\d{1,2}(\.\d{1,2})?$", ErrorMessage = "DEFAULT_PYTHON must look like 3.11")]
    public string DefaultPython { get; set; } = "3.11";

    /// <summary>Default code execution timeout in seconds (seed 001's EXECUTION_TIMEOUT).</summary>
    [Range(1, 86_400, ErrorMessage = "EXECUTION_TIMEOUT must be between 1 and 86400 seconds")]
    public int ExecutionTimeout { get; set; } = 30;

    /// <summary>Environments unused this many hours are removed; 0 turns cleanup off.</summary>
    [Range(0, 100_000, ErrorMessage = "CLEANUP_IDLE_HOURS must be 0 or more")]
    public int CleanupIdleHours { get; set; } = 72;

    /// <summary>Jobs a runner runs at once (seed 004 default 50).</summary>
    [Range(1, 10_000, ErrorMessage = "MAX_CONCURRENT_TASKS must be between 1 and 10000")]
    public int MaxConcurrentTasks { get; set; } = 50;

    /// <summary>Package index for pip/uv; empty means the tool's default.</summary>
    public string? PipIndexUrl { get; set; }

    /// <summary>A local wheel directory or page of links searched before the index.</summary>
    public string? PipFindLinks { get; set; }

    /// <summary>When true, no index is consulted at all (only <see cref="PipFindLinks"/>).</summary>
    public bool PipNoIndex { get; set; }

    /// <summary>
    /// Prefix for every table, queue and container the service creates (letters and digits), so several
    /// deployments, or parallel tests, can share one storage account. Empty by default.
    /// </summary>
    [RegularExpression("^[a-z][a-z0-9]{0,19}$|^$", ErrorMessage = "ENVFABRIC_STORAGE_PREFIX must be lower-case letters and digits, starting with a letter, at most 20")]
    public string StoragePrefix { get; set; } = "";

    /// <summary>The absolute data root, resolved against <paramref name="baseDirectory"/> when relative.</summary>
    public string ResolveDataRoot(string baseDirectory) =>
        Path.GetFullPath(Path.IsPathRooted(DataRoot) ? DataRoot : Path.Combine(baseDirectory, DataRoot));

    /// <summary>The absolute environments directory.</summary>
    public string ResolveEnvsBasePath(string baseDirectory) =>
        string.IsNullOrWhiteSpace(EnvsBasePath)
            ? Path.Combine(ResolveDataRoot(baseDirectory), "envs")
            : Path.GetFullPath(EnvsBasePath, ResolveDataRoot(baseDirectory));

    /// <summary>The absolute uv cache directory, beside the environments by default.</summary>
    public string ResolveUvCacheDir(string baseDirectory) =>
        string.IsNullOrWhiteSpace(UvCacheDir)
            ? Path.Combine(ResolveDataRoot(baseDirectory), "uv_cache")
            : Path.GetFullPath(UvCacheDir, ResolveDataRoot(baseDirectory));
}
