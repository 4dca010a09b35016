using System.ComponentModel.DataAnnotations;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Runner;

/// <summary>
/// The runner's own settings (upper-snake names, like the shared ones in <c>EnvFabricOptions</c>). Defaults are
/// tuned for low dispatch latency: an idle runner polls its queue every 2 ms for a moment after activity, backing off to every 500 ms.
/// </summary>
public sealed class RunnerOptions
{
    /// <summary>RUNNER_ID: unique per runner process; generated from the host name when empty.</summary>
    [RegularExpression("^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$|^$", ErrorMessage = "RUNNER_ID must be 1-40 lower-case letters, digits or dashes")]
    public string? RunnerId { get; set; }

    /// <summary>RUNNER_POOL: the pool the runner serves; it takes jobs only from that pool's queue.</summary>
    public string Pool { get; set; } = PoolNames.Default;

    /// <summary>RUNNER_GPUS: GPUs the runner offers to runs, published in its heartbeat.</summary>
    [Range(0, 1024)]
    public int Gpus { get; set; }

    /// <summary>RUNNER_VISIBILITY_TIMEOUT_SECONDS: how long a taken message stays invisible; renewed at a third of it.</summary>
    [Range(3, 3600)]
    public int VisibilityTimeoutSeconds { get; set; } = 30;

    /// <summary>RUNNER_POLL_MIN_MS: queue poll interval right after work.</summary>
    [Range(1, 60_000)]
    public int PollMinMilliseconds { get; set; } = 2;

    /// <summary>RUNNER_POLL_MAX_MS: the idle poll interval the backoff stops at.</summary>
    [Range(1, 60_000)]
    public int PollMaxMilliseconds { get; set; } = 500;

    /// <summary>RUNNER_LOG_FLUSH_MS: output reaches the log blob at least this often while it flows.</summary>
    [Range(10, 10_000)]
    public int LogFlushMilliseconds { get; set; } = 250;

    /// <summary>RUNNER_LOG_MAX_BYTES: cap of one job log; beyond it the oldest output is dropped with a marker (a rolling tail is kept).</summary>
    [Range(64 * 1024, 1L << 34)]
    public long LogMaxBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>RUNNER_LOG_BACKLOG_BYTES: output held in memory while storage is slow; beyond it the oldest is dropped with a marker.</summary>
    [Range(64 * 1024, 1 << 30)]
    public int LogBacklogBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>RUNNER_LOG_TAIL_BYTES: the rolling tail kept (and written at the end) once a log reached its cap.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int LogTailBytes { get; set; } = 256 * 1024;

    /// <summary>RUNNER_STOP_GRACE_SECONDS: between SIGTERM and SIGKILL.</summary>
    [Range(0, 600)]
    public double StopGraceSeconds { get; set; } = 5;

    /// <summary>RUNNER_SAMPLE_MS: /proc sampling interval.</summary>
    [Range(50, 60_000)]
    public int SampleMilliseconds { get; set; } = 500;

    /// <summary>RUNNER_JOB_HEARTBEAT_SECONDS: job heartbeat events and jobs-table heartbeats.</summary>
    [Range(0.2, 600)]
    public double JobHeartbeatSeconds { get; set; } = RunnerDefaultsSeconds.JobHeartbeat;

    /// <summary>RUNNER_HEARTBEAT_SECONDS: the runner's row in the Runners table.</summary>
    [Range(0.2, 600)]
    public double RunnerHeartbeatSeconds { get; set; } = RunnerDefaultsSeconds.RunnerHeartbeat;

    /// <summary>RUNNER_CONTROL_POLL_MS: how often the runner's control queue is read.</summary>
    [Range(10, 60_000)]
    public int ControlPollMilliseconds { get; set; } = 250;

    /// <summary>RUNNER_ENV_JOB_TIMEOUT_SECONDS: limit of environment jobs without their own.</summary>
    [Range(1, 86_400 * 7)]
    public int EnvironmentJobTimeoutSeconds { get; set; } = 3600;

    /// <summary>RUNNER_MAX_DEQUEUE: deliveries after which an unfinished job is failed instead of run again.</summary>
    [Range(1, 1000)]
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>RUNNER_RESULT_TAIL_BYTES: stdout/stderr kept in the result.</summary>
    [Range(256, 1024 * 1024)]
    public int ResultTailBytes { get; set; } = 16 * 1024;

    /// <summary>
    /// VENV_WITH_PIP: venvs get pip of their own (for people who open them by hand); by default they are created
    /// without it, seconds faster, and the base interpreter's pip (<c>pip --python</c>) manages them.
    /// </summary>
    public bool VenvWithPip { get; set; }

    /// <summary>PYENV_ROOT: where pyenv interpreters are looked for (versions/*/bin/python).</summary>
    public string? PyenvRoot { get; set; }

    /// <summary>MAMBA_ROOT_PREFIX: conda package cache; defaults to <c>{DATA_ROOT}/conda</c> (same share, so environments hardlink).</summary>
    public string? MambaRootPrefix { get; set; }

    public static readonly IReadOnlyDictionary<string, string> Keys = new Dictionary<string, string>
    {
        ["RUNNER_ID"] = nameof(RunnerId),
        ["RUNNER_POOL"] = nameof(Pool),
        ["RUNNER_GPUS"] = nameof(Gpus),
        ["RUNNER_VISIBILITY_TIMEOUT_SECONDS"] = nameof(VisibilityTimeoutSeconds),
        ["RUNNER_POLL_MIN_MS"] = nameof(PollMinMilliseconds),
        ["RUNNER_POLL_MAX_MS"] = nameof(PollMaxMilliseconds),
        ["RUNNER_LOG_FLUSH_MS"] = nameof(LogFlushMilliseconds),
        ["RUNNER_LOG_MAX_BYTES"] = nameof(LogMaxBytes),
        ["RUNNER_LOG_BACKLOG_BYTES"] = nameof(LogBacklogBytes),
        ["RUNNER_LOG_TAIL_BYTES"] = nameof(LogTailBytes),
        ["RUNNER_STOP_GRACE_SECONDS"] = nameof(StopGraceSeconds),
        ["RUNNER_SAMPLE_MS"] = nameof(SampleMilliseconds),
        ["RUNNER_JOB_HEARTBEAT_SECONDS"] = nameof(JobHeartbeatSeconds),
        ["RUNNER_HEARTBEAT_SECONDS"] = nameof(RunnerHeartbeatSeconds),
        ["RUNNER_CONTROL_POLL_MS"] = nameof(ControlPollMilliseconds),
        ["RUNNER_ENV_JOB_TIMEOUT_SECONDS"] = nameof(EnvironmentJobTimeoutSeconds),
        ["RUNNER_MAX_DEQUEUE"] = nameof(MaxDequeueCount),
        ["RUNNER_RESULT_TAIL_BYTES"] = nameof(ResultTailBytes),
        ["VENV_WITH_PIP"] = nameof(VenvWithPip),
        ["PYENV_ROOT"] = nameof(PyenvRoot),
        ["MAMBA_ROOT_PREFIX"] = nameof(MambaRootPrefix),
    };

    /// <summary>Binds the settings; a wrong one throws an <see cref="InvalidSettingException"/> naming it.</summary>
    public static void Bind(IConfiguration configuration, RunnerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        SettingsBinding.Bind(configuration, options, Keys);
        if (!PoolNames.IsValid(options.Pool))
        {
            throw new InvalidSettingException($"Setting RUNNER_POOL: '{options.Pool}' is not a pool name (use 1 to 32 lower-case letters, digits or '-', starting with a letter or digit, e.g. gpu)");
        }
    }
}

internal static class RunnerDefaultsSeconds
{
    public const double JobHeartbeat = 5;
    public const double RunnerHeartbeat = 10;
}
