using System.Text.Json.Serialization;
using EnvFabric.Core.Runner;

namespace EnvFabric.Core.Environments;

/// <summary>Where an environment is in its life.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EnvironmentStatus>))]
public enum EnvironmentStatus
{
    /// <summary>Recorded; its first build has not finished.</summary>
    [JsonStringEnumMemberName("creating")]
    Creating,

    /// <summary>Built and usable.</summary>
    [JsonStringEnumMemberName("ready")]
    Ready,

    /// <summary>The last build failed; see the install log, and reset to rebuild.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>Being removed.</summary>
    [JsonStringEnumMemberName("deleting")]
    Deleting,
}

/// <summary>
/// One Python environment as both API dialects see it. A seed-001 environment (workflow, node, version)
/// is the environment named <c>{workflow_id}_{node_id}_{version_id}</c>.
/// </summary>
public sealed record EnvironmentRecord
{
    /// <summary>The name (validated by <see cref="Validation.EnvironmentName"/>); the table key.</summary>
    public required string Name { get; init; }

    /// <summary>uv, conda or venv.</summary>
    public EnvironmentBackend Backend { get; init; } = EnvironmentBackend.Venv;

    /// <summary>The requested Python version (e.g. <c>3.11</c>), replaced by the actual one after a build.</summary>
    public required string PythonVersion { get; init; }

    /// <summary>The specs asked for, canonical PEP 508 text; a reset rebuilds from these.</summary>
    public IReadOnlyList<string> RequestedSpecs { get; init; } = [];

    /// <summary>What the last build left installed.</summary>
    public IReadOnlyList<InstalledPackage> Packages { get; init; } = [];

    /// <summary>The lock file text of the last build, or null.</summary>
    public string? LockText { get; init; }

    /// <summary>What kind of lock <see cref="LockText"/> is (<c>uv.lock</c>, <c>pip-freeze</c>, <c>conda-explicit</c>).</summary>
    public string? LockKind { get; init; }

    /// <summary>The lock file's name in the environment directory.</summary>
    public string? LockFileName { get; init; }

    /// <summary>Lifecycle status.</summary>
    public EnvironmentStatus Status { get; init; } = EnvironmentStatus.Creating;

    /// <summary>When it was first recorded.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When it was last used (built, run in); idle cleanup looks at this.</summary>
    public DateTimeOffset LastUsedAt { get; init; }

    /// <summary>Its directory on the share.</summary>
    public required string Path { get; init; }

    /// <summary>Seed 001 identity, when created through <c>/envs</c>.</summary>
    public string? WorkflowId { get; init; }

    /// <summary>Seed 001 identity.</summary>
    public string? NodeId { get; init; }

    /// <summary>Seed 001 identity.</summary>
    public string? VersionId { get; init; }

    /// <summary>The orchestration instance of the latest operation (its install log is read by this id).</summary>
    public string? LastOperationId { get; init; }

    /// <summary>What the latest operation was (create, add, remove, ...).</summary>
    public string? LastOperation { get; init; }

    /// <summary>The reason the last build failed, when <see cref="Status"/> is failed.</summary>
    public string? LastError { get; init; }

    /// <summary>The storage ETag this copy was read with (optimistic concurrency), null for a new record.</summary>
    public string? ETag { get; init; }

    /// <summary>Whether it belongs to seed 001 (workflow, node, version).</summary>
    [JsonIgnore]
    public bool IsFabric => WorkflowId is not null && NodeId is not null && VersionId is not null;
}

/// <summary>The outcome of a conditional write.</summary>
public enum SaveOutcome
{
    /// <summary>Written.</summary>
    Saved,

    /// <summary>Someone else changed it since it was read (ETag mismatch), or it already exists on add.</summary>
    Conflict,

    /// <summary>It no longer exists.</summary>
    NotFound,
}

/// <summary>A write's outcome and, when saved, the record with its new ETag.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Record">The stored record when <see cref="SaveOutcome.Saved"/>.</param>
public sealed record SaveResult(SaveOutcome Outcome, EnvironmentRecord? Record);
