namespace EnvFabric.Functions;

// Request and response bodies of seed 000's mutations (snake_case on the wire).
public sealed record CondaCreateRequest(string? Name, string? PythonVersion, IReadOnlyList<string?>? Packages, string? Backend);

public sealed record CondaRenameRequest(string? NewName);

public sealed record CondaPackagesRequest(IReadOnlyList<string?>? Packages);

public sealed record CondaCreatedEnv(string Name, string PythonVersion, string CreatedAt, int PackageCount);

public sealed record CondaCreated(bool Success, string Message, CondaCreatedEnv Env);

public sealed record CondaMessage(bool Success, string Message);

public sealed record CondaRenamed(bool Success, string Message, string OldName, string NewName, int UpdatedTasksCount);

public sealed record CondaPackageError(string Package, string Error);

public sealed record CondaInstalled(bool Success, string Message, IReadOnlyList<string> InstalledPackages, IReadOnlyList<string> FailedPackages, IReadOnlyList<CondaPackageError> ErrorDetails);

public sealed record CondaRemoved(bool Success, string Message, IReadOnlyList<string> RemovedPackages, IReadOnlyList<string> FailedPackages);
