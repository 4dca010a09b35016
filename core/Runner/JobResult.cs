using System.Text.Json.Serialization;

namespace EnvFabric.Core.Runner;

/// <summary>How a job ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))]
public enum JobStatus
{
    /// <summary>Exit code 0 (environment jobs: every step succeeded; some packages may still be in <see cref="JobResult.FailedPackages"/>).</summary>
    [JsonStringEnumMemberName("succeeded")]
    Succeeded,

    /// <summary>Non-zero exit, or a step failed.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>Killed after its timeout.</summary>
    [JsonStringEnumMemberName("timed_out")]
    TimedOut,

    /// <summary>Stopped by a control request.</summary>
    [JsonStringEnumMemberName("cancelled")]
    Cancelled,

    /// <summary>Refused before running: invalid message, unsupported version, bad spec or path.</summary>
    [JsonStringEnumMemberName("rejected")]
    Rejected,
}

/// <summary>The lock file formats a backend produces.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LockKind>))]
public enum LockKind
{
    /// <summary>uv's <c>uv.lock</c> (TOML).</summary>
    [JsonStringEnumMemberName("uv.lock")]
    UvLock,

    /// <summary><c>pip freeze</c> output (requirements.txt with pins).</summary>
    [JsonStringEnumMemberName("pip-freeze")]
    PipFreeze,

    /// <summary>conda's <c>@EXPLICIT</c> list (<c>list --explicit --md5</c>).</summary>
    [JsonStringEnumMemberName("conda-explicit")]
    CondaExplicit,
}

/// <summary>An installed distribution.</summary>
public sealed record InstalledPackage(string Name, string Version);

/// <summary>A requested spec that could not be installed, with the tool's reason (seed 003's failed_packages / error_details).</summary>
public sealed record PackageFailure(string Package, string Error);

/// <summary>A lock file's text and format.</summary>
public sealed record LockFile(LockKind Kind, string FileName, string Text);

/// <summary>What a job produced. Environment fields are null for script jobs.</summary>
public sealed record JobResult
{
    /// <summary>The job (attempt) this result belongs to.</summary>
    public required string JobId { get; init; }

    /// <summary>The <c>kind</c> of the job.</summary>
    public required string Kind { get; init; }

    /// <summary>How it ended.</summary>
    public required JobStatus Status { get; init; }

    /// <summary>Exit code of the (last) process; null when none ran or it died by a signal.</summary>
    public int? ExitCode { get; init; }

    /// <summary>A one-line reason when not succeeded.</summary>
    public string? Error { get; init; }

    /// <summary>The runner that ran it.</summary>
    public string? RunnerId { get; init; }

    /// <summary>When the runner started the job.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>When the job finished.</summary>
    public DateTimeOffset FinishedAt { get; init; }

    /// <summary>Wall time in seconds.</summary>
    public double DurationSeconds { get; init; }

    /// <summary>Peak resident memory of the process tree, MB (seed 003's peak_memory).</summary>
    public double PeakMemoryMb { get; init; }

    /// <summary>Average resident memory over the samples, MB (seed 003's avg_memory).</summary>
    public double AverageMemoryMb { get; init; }

    /// <summary>User + system CPU time of the process tree, seconds.</summary>
    public double CpuSeconds { get; init; }

    /// <summary>First process start and last process exit of the job (for dispatch-overhead metrics).</summary>
    public DateTimeOffset? ProcessStartedAt { get; init; }

    /// <summary>When the last process exited.</summary>
    public DateTimeOffset? ProcessExitedAt { get; init; }

    /// <summary>The end of standard output (bounded).</summary>
    public string StdoutTail { get; init; } = "";

    /// <summary>The end of standard error (bounded).</summary>
    public string StderrTail { get; init; } = "";

    /// <summary>Whether the log blob's completion marker was written.</summary>
    public bool LogComplete { get; init; }

    /// <summary>Environment jobs: installed packages afterwards.</summary>
    public IReadOnlyList<InstalledPackage>? Packages { get; init; }

    /// <summary>Environment jobs: the declared (requested) specs afterwards.</summary>
    public IReadOnlyList<string>? Dependencies { get; init; }

    /// <summary>Environment jobs: the lock afterwards.</summary>
    public LockFile? Lock { get; init; }

    /// <summary>Environment jobs: specs that failed and why.</summary>
    public IReadOnlyList<PackageFailure> FailedPackages { get; init; } = [];

    /// <summary>Environment jobs: the interpreter version actually in the environment, e.g. <c>3.11.7</c>.</summary>
    public string? PythonVersion { get; init; }

    /// <summary>Environment jobs: the environment's directory afterwards (the new one after a rename).</summary>
    public string? EnvironmentDirectory { get; init; }

    /// <summary>Non-fatal observations (e.g. hardlink fallback).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
