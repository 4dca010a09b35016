using EnvFabric.Core.Runner;

namespace EnvFabric.Activities.Environments;

/// <summary>The operations an <c>EnvBuild</c> orchestration performs; the names appear in the audit.</summary>
public static class EnvOperations
{
    public const string Create = "create";
    public const string Add = "add";
    public const string Remove = "remove";
    public const string Sync = "sync";
    public const string Rename = "rename";
    public const string Delete = "delete";
    public const string Reset = "reset";
    public const string Cleanup = "cleanup";
    public const string Run = "run";

    /// <summary>Operations that change the environment and therefore hold its lock.</summary>
    public static bool Mutates(string operation) => operation != Run;
}

/// <summary>Seed 001's error codes as build outcomes (the HTTP layer maps them to each dialect).</summary>
public static class EnvErrorCodes
{
    public const string InvalidPackages = "INVALID_PACKAGES";
    public const string EnvNotFound = "ENV_NOT_FOUND";
    public const string EnvAlreadyExists = "ENV_ALREADY_EXISTS";
    public const string PackageResolutionFailed = "PACKAGE_RESOLUTION_FAILED";
    public const string EnvLocked = "ENV_LOCKED";
    public const string DbAuditError = "DB_AUDIT_ERROR";
    public const string UvExecutionError = "UV_EXECUTION_ERROR";
    public const string ExecutionTimeout = "EXECUTION_TIMEOUT";
}

/// <summary>The input of an <c>EnvBuild</c> orchestration.</summary>
public sealed record EnvBuildInput
{
    /// <summary>One of <see cref="EnvOperations"/>.</summary>
    public required string Operation { get; init; }

    /// <summary>The environment's name.</summary>
    public required string Environment { get; init; }

    /// <summary>The new name, for rename.</summary>
    public string? NewName { get; init; }

    /// <summary>Validated specs (create, add) or names (remove).</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];

    /// <summary>Validated requirements file text (create, add).</summary>
    public string? RequirementsText { get; init; }

    /// <summary>Requested Python version (create, reset).</summary>
    public string? PythonVersion { get; init; }

    /// <summary>The backend the job uses.</summary>
    public EnvironmentBackend Backend { get; init; } = EnvironmentBackend.Venv;

    /// <summary>The environment's directory on the share.</summary>
    public required string Directory { get; init; }

    /// <summary>The new directory, for rename.</summary>
    public string? NewDirectory { get; init; }

    /// <summary>Code to run (run).</summary>
    public string? Code { get; init; }

    /// <summary>The job's own time limit in seconds (run: the execution timeout).</summary>
    public int? JobTimeoutSeconds { get; init; }

    /// <summary>Who asked (key name), for the audit.</summary>
    public required string Who { get; init; }

    /// <summary>From where (client IP), for the audit.</summary>
    public string ClientIp { get; init; } = "";

    /// <summary>The request's inputs as JSON, for the audit.</summary>
    public string InputsJson { get; init; } = "{}";

    /// <summary>When the request arrived (audit duration starts here).</summary>
    public DateTimeOffset RequestedAt { get; init; }

    /// <summary>Longest the whole build may take.</summary>
    public int BuildTimeoutSeconds { get; init; } = 1800;

    /// <summary>A running job silent this long has lost its runner.</summary>
    public int StaleAfterSeconds { get; init; } = 30;

    /// <summary>A job no runner took within this long fails.</summary>
    public int PickupTimeoutSeconds { get; init; } = 300;
}

/// <summary>The output of an <c>EnvBuild</c> orchestration.</summary>
public sealed record EnvBuildResult
{
    public bool Succeeded { get; init; }

    /// <summary>One of <see cref="EnvErrorCodes"/> when not succeeded.</summary>
    public string? ErrorCode { get; init; }

    public string? Error { get; init; }

    public required string Operation { get; init; }

    public required string Environment { get; init; }

    public string? NewName { get; init; }

    /// <summary>The orchestration instance (its install log id).</summary>
    public string? OperationId { get; init; }

    /// <summary>The environment after the operation (null once deleted).</summary>
    public EnvironmentSnapshot? Snapshot { get; init; }

    /// <summary>Requested packages now installed, as name and version.</summary>
    public IReadOnlyList<InstalledPackage> InstalledPackages { get; init; } = [];

    /// <summary>Requested packages that could not be installed or removed.</summary>
    public IReadOnlyList<PackageFailure> FailedPackages { get; init; } = [];

    /// <summary>Packages removed (remove).</summary>
    public IReadOnlyList<string> RemovedPackages { get; init; } = [];

    /// <summary>Tasks re-pointed by a rename.</summary>
    public int UpdatedTasksCount { get; init; }

    /// <summary>Run: exit code.</summary>
    public int? ExitCode { get; init; }

    /// <summary>Run: standard output.</summary>
    public string? Stdout { get; init; }

    /// <summary>Run: standard error.</summary>
    public string? Stderr { get; init; }

    /// <summary>Job duration in seconds.</summary>
    public double DurationSeconds { get; init; }
}

/// <summary>The environment's fields an answer needs, copied out of the record.</summary>
public sealed record EnvironmentSnapshot(
    string Name,
    string PythonVersion,
    string Backend,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string Path,
    int PackageCount,
    string? LockKind,
    string? WorkflowId,
    string? NodeId,
    string? VersionId);

/// <summary>Lock activities' input: every name the operation locks (rename locks both).</summary>
public sealed record LockRequest(IReadOnlyList<string> Names, string Owner, string Operation, int TtlSeconds);

/// <summary>The lock step's outcome; when acquired, the environment was also marked as busy with this operation.</summary>
public sealed record LockResponse(bool Acquired, string? HeldBy, string? HeldFor, bool EnvironmentMissing, bool TargetExists);

/// <summary>Dispatch activity input.</summary>
public sealed record DispatchRequest(EnvBuildInput Build, string InstanceId, string JobId);

/// <summary>Dispatch activity output.</summary>
public sealed record DispatchResponse(string JobId, string LogBlobName, DateTimeOffset EnqueuedAt);

/// <summary>Check activity input.</summary>
public sealed record JobProbeRequest(string JobId, int StaleAfterSeconds);

/// <summary>What the job table says about a job: its state and, once finished, a summary of its result.</summary>
public sealed record JobProbe
{
    /// <summary>queued (no runner took it yet), running, finished or stale (runner silent).</summary>
    public required string State { get; init; }

    public string? RunnerId { get; init; }

    public DateTimeOffset? LastHeartbeat { get; init; }

    /// <summary>When stale: whether another runner is alive and may take the job over once its message returns.</summary>
    public bool OtherRunnerAlive { get; init; }

    /// <summary>The result's status (succeeded, failed, timed_out, cancelled, rejected) once finished.</summary>
    public string? Status { get; init; }

    public string? Error { get; init; }

    public int? ExitCode { get; init; }

    public double DurationSeconds { get; init; }

    public string? StdoutTail { get; init; }

    public string? StderrTail { get; init; }

    public IReadOnlyList<PackageFailure> FailedPackages { get; init; } = [];

    /// <summary>The whole result once finished (metrics included).</summary>
    public JobResult? Result { get; init; }
}

/// <summary>Record activity input: the build, its job, and how it ended.</summary>
public sealed record RecordRequest(EnvBuildInput Build, string OperationId, string? JobId, bool Succeeded, string? Error);

/// <summary>Record activity output.</summary>
public sealed record RecordResponse
{
    public EnvironmentSnapshot? Snapshot { get; init; }

    public IReadOnlyList<InstalledPackage> InstalledPackages { get; init; } = [];

    public IReadOnlyList<PackageFailure> FailedPackages { get; init; } = [];

    public IReadOnlyList<string> RemovedPackages { get; init; } = [];

    public int UpdatedTasksCount { get; init; }
}

/// <summary>Audit activity input.</summary>
public sealed record AuditRequest(EnvBuildInput Build, string OperationId, bool Succeeded, string? Error, DateTimeOffset FinishedAt);

/// <summary>Stop activity input.</summary>
public sealed record StopJobRequest(string JobId);
