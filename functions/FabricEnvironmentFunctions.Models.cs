namespace EnvFabric.Functions;

// Request and response bodies of seed 001's operations (snake_case on the wire).
public sealed record FabricPackagesRequest(IReadOnlyList<string?>? Packages);

public sealed record FabricRunRequest(string? Code, int? Timeout);

public sealed record FabricExport(
    string WorkflowId,
    string NodeId,
    string VersionId,
    string PyprojectToml,
    string? UvLock,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? PipFreeze,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? CondaExplicit,
    string? LockKind,
    string? LockFile,
    string Backend);

public sealed record FabricSynced(string WorkflowId, string NodeId, string VersionId, string Status, int PackagesInstalled);

public sealed record FabricDependencies(string WorkflowId, string NodeId, string VersionId, IReadOnlyList<string> Dependencies, IReadOnlyDictionary<string, string> LockedVersions);

public sealed record FabricDependencyChange(
    string WorkflowId,
    string NodeId,
    string VersionId,
    string Status,
    IReadOnlyList<string> Packages,
    IReadOnlyList<string> Dependencies,
    IReadOnlyDictionary<string, string> LockedVersions,
    IReadOnlyList<string> FailedPackages);

public sealed record FabricRunResult(string WorkflowId, string NodeId, string VersionId, string Stdout, string Stderr, int ExitCode, double Duration);

public sealed record FabricDeleted(string WorkflowId, string NodeId, string VersionId, string Status);
