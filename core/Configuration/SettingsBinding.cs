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
    public static void Bind(IConfiguration configuration, EnvFabricOptions options) => Bind(configuration, options, Keys);

    /// <summary>
    /// Copies each setting of <paramref name="keys"/> (setting name to property name) present in
    /// <paramref name="configuration"/> onto <paramref name="options"/>, parsed by <see cref="SettingValue"/>: a value
    /// that does not parse, or that the property's validation attributes refuse, throws
    /// <see cref="InvalidSettingException"/> naming the setting.
    /// </summary>
    public static void Bind<T>(IConfiguration configuration, T options, IReadOnlyDictionary<string, string> keys)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var (key, name) in keys)
        {
            var text = configuration[key];
            if (string.IsNullOrEmpty(text))
            {
                continue;
            }

            var property = typeof(T).GetProperty(name) ?? throw new InvalidOperationException($"{typeof(T).Name} has no property {name} for {key}");
            property.SetValue(options, SettingValue.Parse("Setting " + key, text, property));
        }
    }
}
