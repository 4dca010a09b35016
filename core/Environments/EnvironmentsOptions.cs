using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;

namespace EnvFabric.Core.Environments;

/// <summary>
/// Settings of the environment API and its builds, read from the configuration root
/// (<c>local.settings.json</c> <c>Values</c> or environment variables).
/// </summary>
public sealed class EnvironmentsOptions
{
    /// <summary>Every setting with its property, as in <see cref="Configuration.SettingsBinding"/>.</summary>
    public static readonly IReadOnlyDictionary<string, string> Keys = new Dictionary<string, string>
    {
        ["ENV_BACKEND"] = nameof(Backend),
        ["ENV_WAIT_SECONDS"] = nameof(WaitSeconds),
        ["ENV_BUILD_TIMEOUT_SECONDS"] = nameof(BuildTimeoutSeconds),
        ["RUNNER_STALE_SECONDS"] = nameof(RunnerStaleSeconds),
        ["RUNNER_PICKUP_TIMEOUT_SECONDS"] = nameof(PickupTimeoutSeconds),
        ["ENV_CLEANUP_SCHEDULE"] = nameof(CleanupSchedule),
        ["ENV_ALLOW_DIRECT_URLS"] = nameof(AllowDirectUrls),
    };

    /// <summary>Default backend: <c>auto</c> (uv when a runner has it, else venv), <c>uv</c>, <c>venv</c> or <c>conda</c>.</summary>
    [RegularExpression("^(auto|uv|venv|conda)$", ErrorMessage = "ENV_BACKEND must be auto, uv, venv or conda")]
    public string Backend { get; set; } = "auto";

    /// <summary>How long an HTTP call waits for its build before answering 202 (200 s: under Azure's 230 s limit).</summary>
    [Range(0, 229, ErrorMessage = "ENV_WAIT_SECONDS must be between 0 and 229")]
    public int WaitSeconds { get; set; } = 200;

    /// <summary>Longest a build may run before it is stopped and failed.</summary>
    [Range(10, 86_400, ErrorMessage = "ENV_BUILD_TIMEOUT_SECONDS must be between 10 and 86400")]
    public int BuildTimeoutSeconds { get; set; } = 1800;

    /// <summary>A running job without a heartbeat for this long has lost its runner.</summary>
    [Range(2, 3600, ErrorMessage = "RUNNER_STALE_SECONDS must be between 2 and 3600")]
    public int RunnerStaleSeconds { get; set; } = 30;

    /// <summary>A job no runner has taken within this long fails (no runner available).</summary>
    [Range(2, 86_400, ErrorMessage = "RUNNER_PICKUP_TIMEOUT_SECONDS must be between 2 and 86400")]
    public int PickupTimeoutSeconds { get; set; } = 300;

    /// <summary>Cron (five fields, UTC) of the idle-cleanup timer.</summary>
    public string CleanupSchedule { get; set; } = "*/15 * * * *";

    /// <summary>Whether <c>name @ url</c> package specs are accepted (http, https, file).</summary>
    public bool AllowDirectUrls { get; set; }

    /// <summary>Copies the settings present in <paramref name="configuration"/> onto <paramref name="options"/>.</summary>
    public static void Bind(IConfiguration configuration, EnvironmentsOptions options) =>
        Configuration.SettingsBinding.Bind(configuration, options, Keys);
}
