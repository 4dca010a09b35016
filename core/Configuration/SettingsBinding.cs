using Microsoft.Extensions.Configuration;

namespace EnvFabric.Core.Configuration;

/// <summary>
/// Binds the upper-snake settings of <c>local.settings.json</c> (DATA_ROOT, PIP_NO_INDEX, ...) to
/// <see cref="EnvFabricOptions"/>. The configuration binder does not map snake case to Pascal case, so the
/// names are listed once here.
/// </summary>
public static class SettingsBinding
{
    /// <summary>Every setting the service reads from the configuration root, with its property.</summary>
    public static readonly IReadOnlyDictionary<string, string> Keys = new Dictionary<string, string>
    {
        ["DATA_ROOT"] = nameof(EnvFabricOptions.DataRoot),
        ["ENVS_BASE_PATH"] = nameof(EnvFabricOptions.EnvsBasePath),
        ["UV_CACHE_DIR"] = nameof(EnvFabricOptions.UvCacheDir),
        ["DEFAULT_PYTHON"] = nameof(EnvFabricOptions.DefaultPython),
        ["EXECUTION_TIMEOUT"] = nameof(EnvFabricOptions.ExecutionTimeout),
        ["CLEANUP_IDLE_HOURS"] = nameof(EnvFabricOptions.CleanupIdleHours),
        ["MAX_CONCURRENT_TASKS"] = nameof(EnvFabricOptions.MaxConcurrentTasks),
        ["PIP_INDEX_URL"] = nameof(EnvFabricOptions.PipIndexUrl),
        ["PIP_FIND_LINKS"] = nameof(EnvFabricOptions.PipFindLinks),
        ["PIP_NO_INDEX"] = nameof(EnvFabricOptions.PipNoIndex),
        ["ENVFABRIC_STORAGE_PREFIX"] = nameof(EnvFabricOptions.StoragePrefix),
    };

    /// <summary>Copies the settings present in <paramref name="configuration"/> onto <paramref name="options"/>.</summary>
    public static void Bind(IConfiguration configuration, EnvFabricOptions options)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        var values = new Dictionary<string, string?>();
        foreach (var (key, property) in Keys)
        {
            var value = configuration[key];
            if (!string.IsNullOrEmpty(value))
            {
                values[property] = value;
            }
        }

        try
        {
            new ConfigurationBuilder().AddInMemoryCollection(values).Build().Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"A setting has a value of the wrong type: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
    }
}
