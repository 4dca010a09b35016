using System.Text.Json.Serialization;

namespace EnvFabric.Core.Runner;

/// <summary>The tool that builds and runs an environment.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EnvironmentBackend>))]
public enum EnvironmentBackend
{
    /// <summary>A uv project (<c>pyproject.toml</c>, <c>uv.lock</c>, <c>.venv</c>).</summary>
    [JsonStringEnumMemberName("uv")]
    Uv,

    /// <summary>A conda prefix built by micromamba, mamba or conda.</summary>
    [JsonStringEnumMemberName("conda")]
    Conda,

    /// <summary><c>python -m venv</c> plus pip.</summary>
    [JsonStringEnumMemberName("venv")]
    Venv,
}

/// <summary>
/// A unit of work for the container runner, carried as JSON on the runner queue. The concrete type is named by
/// the <c>kind</c> discriminator; <see cref="Version"/> is the contract version the sender wrote, and a runner
/// refuses (fails, without running) a message whose version it does not know.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(CreateEnvironmentJob), JobKinds.CreateEnvironment)]
[JsonDerivedType(typeof(AddPackagesJob), JobKinds.AddPackages)]
[JsonDerivedType(typeof(RemovePackagesJob), JobKinds.RemovePackages)]
[JsonDerivedType(typeof(SyncEnvironmentJob), JobKinds.SyncEnvironment)]
[JsonDerivedType(typeof(LockEnvironmentJob), JobKinds.LockEnvironment)]
[JsonDerivedType(typeof(ListPackagesJob), JobKinds.ListPackages)]
[JsonDerivedType(typeof(RenameEnvironmentJob), JobKinds.RenameEnvironment)]
[JsonDerivedType(typeof(DeleteEnvironmentJob), JobKinds.DeleteEnvironment)]
[JsonDerivedType(typeof(RunCodeJob), JobKinds.RunCode)]
[JsonDerivedType(typeof(ScriptJob), JobKinds.Script)]
[JsonDerivedType(typeof(PythonInstallJob), JobKinds.PythonInstall)]
public abstract record RunnerJob
{
    /// <summary>The highest contract version this library reads (2 added <see cref="PackageIndex"/>, 3 the quotas of <see cref="ScriptJob"/>).</summary>
    public const int CurrentVersion = 3;

    /// <summary>The version of a script job with a memory or CPU quota: a runner that would run it unlimited refuses it instead.</summary>
    public const int QuotaVersion = 3;

    /// <summary>The version of a job that carries a <see cref="PackageIndex"/>: a runner that would ignore it refuses the job instead.</summary>
    public const int PackageIndexVersion = 2;

    /// <summary>
    /// Contract version of this message: the lowest that carries what it holds (1, or <see cref="PackageIndexVersion"/>
    /// with a package index), so runners of an older contract still take the jobs they can do faithfully.
    /// </summary>
    public int Version { get; init; } = 1;

    /// <summary>Unique per attempt: a retry of the same work gets a new id, so late events of an earlier attempt can be told apart.</summary>
    public required string JobId { get; init; }

    /// <summary>
    /// The orchestration instance that receives <see cref="RunnerEvents"/> for this job. Empty when no
    /// orchestration waits (a <see cref="PythonInstallJob"/>): the runner raises no events and the result is read
    /// from the jobs table.
    /// </summary>
    public required string InstanceId { get; init; }

    /// <summary>Append blob (in <see cref="RunnerStorage.LogsContainer"/>) that receives the job's output.</summary>
    public required string LogBlobName { get; init; }

    /// <summary>The environment's directory on the share (under ENVS_BASE_PATH).</summary>
    public required string EnvironmentDirectory { get; init; }

    /// <summary>Backend of the environment.</summary>
    public EnvironmentBackend Backend { get; init; } = EnvironmentBackend.Venv;

    /// <summary>Overall time limit in seconds; null means the runner's default for the kind.</summary>
    public int? TimeoutSeconds { get; init; }

    /// <summary>
    /// Whether the runner raises <see cref="RunnerEvents.Started"/> and <see cref="RunnerEvents.Heartbeat"/> on the
    /// orchestration (<see cref="RunnerEvents.Completed"/> always). Each event is an episode of the orchestration:
    /// a long script run would add one to its history every few seconds, and a short one would have its
    /// completion wait behind the start's episode. A waiter that reads the job table's heartbeat needs neither.
    /// </summary>
    public bool ProgressEvents { get; init; } = true;

    /// <summary>
    /// The runner pool whose queue carries the job (<c>RUNNER_POOL</c> of the runners that may take it); null = the
    /// default pool, or for an environment job any pool with a live runner that has the backend's tool.
    /// </summary>
    public string? Pool { get; init; }

    /// <summary>When the sender enqueued the job (UTC); used for metrics only.</summary>
    public DateTimeOffset? EnqueuedAt { get; init; }

    /// <summary>
    /// The deployment's package index for an environment job (stamped at enqueue time from the stored setting);
    /// when set it replaces the runner's PIP_INDEX_URL, PIP_FIND_LINKS and PIP_NO_INDEX. Null for script jobs.
    /// </summary>
    public PackageIndex? PackageIndex { get; init; }
}

/// <summary>The <c>kind</c> discriminator values.</summary>
public static class JobKinds
{
    /// <summary><see cref="CreateEnvironmentJob"/>.</summary>
    public const string CreateEnvironment = "env.create";

    /// <summary><see cref="AddPackagesJob"/>.</summary>
    public const string AddPackages = "env.add";

    /// <summary><see cref="RemovePackagesJob"/>.</summary>
    public const string RemovePackages = "env.remove";

    /// <summary><see cref="SyncEnvironmentJob"/>.</summary>
    public const string SyncEnvironment = "env.sync";

    /// <summary><see cref="LockEnvironmentJob"/>.</summary>
    public const string LockEnvironment = "env.lock";

    /// <summary><see cref="ListPackagesJob"/>.</summary>
    public const string ListPackages = "env.list";

    /// <summary><see cref="RenameEnvironmentJob"/>.</summary>
    public const string RenameEnvironment = "env.rename";

    /// <summary><see cref="DeleteEnvironmentJob"/>.</summary>
    public const string DeleteEnvironment = "env.delete";

    /// <summary><see cref="RunCodeJob"/>.</summary>
    public const string RunCode = "env.run";

    /// <summary><see cref="ScriptJob"/>.</summary>
    public const string Script = "script";

    /// <summary><see cref="PythonInstallJob"/>.</summary>
    public const string PythonInstall = "python.install";
}

/// <summary>
/// Installs a Python interpreter on the share, for every runner: <c>uv python install {version}</c> with
/// UV_PYTHON_INSTALL_DIR = <c>{DATA_ROOT}/python</c>, or a conda prefix <c>{DATA_ROOT}/python/conda-{version}</c>
/// (<c>create -p ... python={version}</c>). <see cref="RunnerJob.EnvironmentDirectory"/> is that directory. A runner
/// with neither tool leaves the job to another runner (the message comes back a few seconds later).
/// </summary>
public sealed record PythonInstallJob : RunnerJob
{
    /// <summary>The accepted form of <see cref="PythonVersion"/>: <c>3.12</c> or <c>3.12.4</c> (ASCII digits, nothing after).</summary>
    public const string VersionPattern = @"^3\.[0-9]{1,2}(\.[0-9]{1,2})?\z";

    /// <summary>The version to install.</summary>
    public required string PythonVersion { get; init; }

    /// <summary><c>uv</c> or <c>conda</c>: the tool to use when the runner has it (else the other one).</summary>
    public string Tool { get; init; } = "uv";

    /// <summary>Whether <paramref name="version"/> has the accepted form.</summary>
    public static bool IsValidVersion(string? version) =>
        version is not null && System.Text.RegularExpressions.Regex.IsMatch(version, VersionPattern, System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
}

/// <summary>Creates the environment: interpreter, then the packages (specs and/or a requirements text).</summary>
public sealed record CreateEnvironmentJob : RunnerJob
{
    /// <summary>Python version such as <c>3.11</c>; null means DEFAULT_PYTHON.</summary>
    public string? PythonVersion { get; init; }

    /// <summary>PEP 508 specs to install.</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];

    /// <summary>A requirements.txt body (one PEP 508 spec per line, comments allowed); its specs join <see cref="Packages"/>.</summary>
    public string? RequirementsText { get; init; }

    /// <summary>Replace an existing directory instead of failing (seed 000's reset).</summary>
    public bool Overwrite { get; init; }
}

/// <summary>Installs packages into an existing environment (uv add / conda install / pip install).</summary>
public sealed record AddPackagesJob : RunnerJob
{
    /// <summary>PEP 508 specs.</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];

    /// <summary>A requirements.txt body whose specs join <see cref="Packages"/>.</summary>
    public string? RequirementsText { get; init; }
}

/// <summary>Removes packages by name.</summary>
public sealed record RemovePackagesJob : RunnerJob
{
    /// <summary>Package names (a spec's name part is used).</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];
}

/// <summary>Rebuilds the environment from its lock file into a fresh environment.</summary>
public sealed record SyncEnvironmentJob : RunnerJob;

/// <summary>Writes (refreshes) and returns the lock: uv.lock, pip freeze requirements, or a conda explicit list.</summary>
public sealed record LockEnvironmentJob : RunnerJob;

/// <summary>Lists installed packages (and the lock as it stands).</summary>
public sealed record ListPackagesJob : RunnerJob;

/// <summary>Moves the environment directory to <see cref="NewDirectory"/> (same parent, under ENVS_BASE_PATH).</summary>
public sealed record RenameEnvironmentJob : RunnerJob
{
    /// <summary>The new absolute directory.</summary>
    public required string NewDirectory { get; init; }
}

/// <summary>Deletes the environment directory.</summary>
public sealed record DeleteEnvironmentJob : RunnerJob;

/// <summary>Runs a piece of code in the environment with a timeout (seed 001's <c>/run</c>).</summary>
public sealed record RunCodeJob : RunnerJob
{
    /// <summary>Python source passed as <c>python -c</c>.</summary>
    public required string Code { get; init; }
}

/// <summary>
/// Runs a user command (seed 003) in <see cref="WorkingDirectory"/> with the environment's interpreter first on
/// PATH. The command is split into argv by <see cref="CommandLine.Split"/>: no shell is involved.
/// </summary>
public sealed record ScriptJob : RunnerJob
{
    /// <summary>Default command of seed 003.</summary>
    public const string DefaultCommand = "python main.py";

    /// <summary>Working directory on the share (under DATA_ROOT), e.g. <c>scripts/&lt;task_id&gt;</c>.</summary>
    public required string WorkingDirectory { get; init; }

    /// <summary>The command line; POSIX-style quoting, no shell features.</summary>
    public string Command { get; init; } = DefaultCommand;

    /// <summary>Name of the environment (for logs and metrics only; the directory is authoritative).</summary>
    public string? EnvironmentName { get; init; }

    /// <summary>Extra environment variables, logged by name and value.</summary>
    public IReadOnlyDictionary<string, string> EnvironmentVariables { get; init; } = new Dictionary<string, string>();

    /// <summary>Secret environment variables: passed to the process, never logged (values are masked in the log too).</summary>
    public IReadOnlyDictionary<string, string> Secrets { get; init; } = new Dictionary<string, string>();

    /// <summary>Task and execution identifiers, echoed in events for the receiver's convenience.</summary>
    public string? TaskId { get; init; }

    /// <summary>The execution record this job runs for.</summary>
    public string? ExecutionId { get; init; }

    /// <summary>
    /// The run's memory quota in MiB, enforced by the runner on the process tree; a run over it is killed and
    /// fails with the reason. Null = no limit. A job with a quota has <see cref="RunnerJob.Version"/> at least
    /// <see cref="RunnerJob.QuotaVersion"/>.
    /// </summary>
    public long? MemoryLimitMb { get; init; }

    /// <summary>The run's CPU quota as a number of cores (0.5 = half a core), enforced by the runner; null = no limit.</summary>
    public double? CpuLimit { get; init; }
}
