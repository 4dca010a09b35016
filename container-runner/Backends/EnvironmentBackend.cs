using EnvFabric.Core.Configuration;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Validation;
using EnvFabric.Runner.Processes;

namespace EnvFabric.Runner.Backends;

/// <summary>What an environment job needs from the runner: the job's process port and the runner's settings.</summary>
public sealed record BackendContext(
    IProcessRunner Processes,
    Action<string> Note,
    RunnerCapabilities Capabilities,
    EnvFabricOptions Settings,
    DataPaths Paths,
    RunnerOptions Options,
    PackageIndex? Index = null);

/// <summary>What an environment job produced.</summary>
public sealed record EnvironmentOutcome
{
    public JobStatus Status { get; init; } = JobStatus.Succeeded;

    public int? ExitCode { get; init; }

    public string? Error { get; init; }

    public IReadOnlyList<InstalledPackage>? Packages { get; init; }

    public IReadOnlyList<string>? Dependencies { get; init; }

    public LockFile? Lock { get; init; }

    public IReadOnlyList<PackageFailure> FailedPackages { get; init; } = [];

    public string? PythonVersion { get; init; }

    public string? EnvironmentDirectory { get; init; }

    public IReadOnlyList<string> Warnings { get; init; } = [];

    public static EnvironmentOutcome Rejected(string error) => new() { Status = JobStatus.Rejected, Error = error };

    public static EnvironmentOutcome Failed(string error, int? exitCode = null) => new() { Status = JobStatus.Failed, Error = error, ExitCode = exitCode };

    /// <summary>The outcome of a process that did not succeed: timed out, cancelled or failed.</summary>
    public static EnvironmentOutcome FromProcess(ProcessOutcome outcome, string what)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return new EnvironmentOutcome
        {
            Status = outcome.TimedOut ? JobStatus.TimedOut : outcome.Cancelled ? JobStatus.Cancelled : JobStatus.Failed,
            ExitCode = outcome.ExitCode,
            Error = $"{what}: {outcome.ErrorSummary()}",
        };
    }
}

/// <summary>
/// One backend (uv, conda, venv). The shared parts live here: spec validation before any command, the
/// declared-spec file, rename and delete; each backend supplies the tool's argv and reads its formats.
/// </summary>
public abstract class EnvironmentBackendBase
{
    public abstract EnvironmentBackend Kind { get; }

    public async Task<EnvironmentOutcome> ExecuteAsync(RunnerJob job, BackendContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(context);
        var dir = job.EnvironmentDirectory;
        switch (job)
        {
            case CreateEnvironmentJob create:
            {
                var specs = ValidateSpecs(create.Packages, create.RequirementsText, out var error);
                if (error is not null)
                {
                    return EnvironmentOutcome.Rejected(error);
                }

                var python = create.PythonVersion ?? context.Settings.DefaultPython;
                if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
                {
                    if (!create.Overwrite)
                    {
                        return EnvironmentOutcome.Failed($"the environment directory {dir} already exists");
                    }

                    Directory.Delete(dir, recursive: true);
                }

                Directory.CreateDirectory(dir);
                return await CreateAsync(dir, python, specs, context, cancellationToken);
            }

            case AddPackagesJob add:
            {
                var specs = ValidateSpecs(add.Packages, add.RequirementsText, out var error);
                if (error is not null)
                {
                    return EnvironmentOutcome.Rejected(error);
                }

                if (specs.Count == 0)
                {
                    return EnvironmentOutcome.Rejected("no packages given");
                }

                return RequireExisting(dir) ?? await AddAsync(dir, specs, context, cancellationToken);
            }

            case RemovePackagesJob remove:
            {
                var names = PackageSpec.ParseNames(remove.Packages.Select(p => PackageSpec.TryParse(p, out var r, out _) ? r!.Name : p));
                if (!names.IsValid)
                {
                    return EnvironmentOutcome.Rejected("invalid package names: " + names.ErrorMessage);
                }

                if (names.Requirements.Count == 0)
                {
                    return EnvironmentOutcome.Rejected("no packages given");
                }

                return RequireExisting(dir) ?? await RemoveAsync(dir, names.Requirements.Select(r => r.Name).ToList(), context, cancellationToken);
            }

            case SyncEnvironmentJob:
                return RequireExisting(dir) ?? await SyncAsync(dir, context, cancellationToken);
            case LockEnvironmentJob:
                return RequireExisting(dir) ?? await LockAsync(dir, context, cancellationToken);
            case ListPackagesJob:
                return RequireExisting(dir) ?? await DescribeAsync(dir, context, refreshLock: false, cancellationToken);
            case RunCodeJob run:
                return RequireExisting(dir) ?? await RunCodeAsync(dir, run.Code, TimeSpan.FromSeconds(run.TimeoutSeconds ?? context.Settings.ExecutionTimeout), context, cancellationToken);
            case RenameEnvironmentJob rename:
                return RequireExisting(dir) ?? await RenameAsync(dir, rename.NewDirectory, context, cancellationToken);
            case DeleteEnvironmentJob:
                if (Directory.Exists(dir))
                {
                    context.Note($"[envfabric] deleting {dir}");
                    Directory.Delete(dir, recursive: true);
                }

                return new EnvironmentOutcome { EnvironmentDirectory = dir, Packages = [] };
            default:
                return EnvironmentOutcome.Rejected($"{job.GetType().Name} is not an environment job");
        }
    }

    protected abstract Task<EnvironmentOutcome> CreateAsync(string dir, string pythonVersion, IReadOnlyList<PackageRequirement> specs, BackendContext context, CancellationToken cancellationToken);

    protected abstract Task<EnvironmentOutcome> AddAsync(string dir, IReadOnlyList<PackageRequirement> specs, BackendContext context, CancellationToken cancellationToken);

    protected abstract Task<EnvironmentOutcome> RemoveAsync(string dir, IReadOnlyList<string> names, BackendContext context, CancellationToken cancellationToken);

    protected abstract Task<EnvironmentOutcome> SyncAsync(string dir, BackendContext context, CancellationToken cancellationToken);

    protected abstract Task<EnvironmentOutcome> LockAsync(string dir, BackendContext context, CancellationToken cancellationToken);

    /// <summary>Packages, declared specs, lock and Python version as they stand.</summary>
    protected abstract Task<EnvironmentOutcome> DescribeAsync(string dir, BackendContext context, bool refreshLock, CancellationToken cancellationToken);

    protected abstract ProcessSpec RunCodeSpec(string dir, string code, BackendContext context);

    protected virtual async Task<EnvironmentOutcome> RunCodeAsync(string dir, string code, TimeSpan timeout, BackendContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var spec = RunCodeSpec(dir, code, context) with { Timeout = timeout, WorkingDirectory = dir };
        var outcome = await context.Processes.RunAsync(spec, cancellationToken);
        return new EnvironmentOutcome
        {
            Status = outcome.TimedOut ? JobStatus.TimedOut : outcome.Cancelled ? JobStatus.Cancelled : outcome.ExitCode == 0 ? JobStatus.Succeeded : JobStatus.Failed,
            ExitCode = outcome.ExitCode,
            Error = outcome.TimedOut ? $"execution timed out after {timeout.TotalSeconds:0} s" : outcome.ExitCode == 0 ? null : $"exit code {outcome.ExitCode}",
            EnvironmentDirectory = dir,
        };
    }

    protected virtual async Task<EnvironmentOutcome> RenameAsync(string dir, string newDir, BackendContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Directory.Exists(newDir) || File.Exists(newDir))
        {
            return EnvironmentOutcome.Failed($"{newDir} already exists");
        }

        context.Note($"[envfabric] moving {dir} to {newDir}");
        Directory.CreateDirectory(Path.GetDirectoryName(newDir)!);
        Directory.Move(dir, newDir);
        var described = await DescribeAsync(newDir, context, refreshLock: false, cancellationToken);
        return described with { EnvironmentDirectory = newDir };
    }

    /// <summary>PEP 508 validation of specs and a requirements text, before any command runs.</summary>
    protected static IReadOnlyList<PackageRequirement> ValidateSpecs(IReadOnlyList<string> packages, string? requirementsText, out string? error)
    {
        var list = PackageSpec.ParseAll(packages);
        if (!list.IsValid)
        {
            error = "invalid package specs: " + list.ErrorMessage;
            return [];
        }

        var all = list.Requirements.ToList();
        if (!string.IsNullOrWhiteSpace(requirementsText))
        {
            var file = RequirementsFile.Parse(requirementsText);
            if (!file.IsValid)
            {
                error = "invalid requirements: " + file.ErrorMessage;
                return [];
            }

            all.AddRange(file.Requirements.Where(r => all.All(a => a.NormalizedName != r.NormalizedName)));
        }

        error = null;
        return all;
    }

    private static EnvironmentOutcome? RequireExisting(string dir) =>
        Directory.Exists(dir) ? null : EnvironmentOutcome.Failed($"the environment directory {dir} does not exist");

    /// <summary>The declared specs file (requirements.in): one spec per line.</summary>
    protected static IReadOnlyList<string> ReadDeclared(string file) =>
        File.Exists(file) ? File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList() : [];

    /// <summary>Adds specs to the declared file, replacing an earlier spec of the same name.</summary>
    protected static void AddDeclared(string file, IEnumerable<PackageRequirement> specs)
    {
        var declared = ReadDeclared(file).ToList();
        foreach (var spec in specs)
        {
            declared.RemoveAll(d => PackageSpec.TryParse(d, out var r, out _) && r!.NormalizedName == spec.NormalizedName);
            declared.Add(spec.ToString());
        }

        File.WriteAllLines(file, declared);
    }

    protected static void RemoveDeclared(string file, IEnumerable<string> names)
    {
        var normalized = names.Select(PackageSpec.NormalizeName).ToHashSet();
        var declared = ReadDeclared(file).Where(d => !(PackageSpec.TryParse(d, out var r, out _) && normalized.Contains(r!.NormalizedName))).ToList();
        File.WriteAllLines(file, declared);
    }

    /// <summary>
    /// pip's index settings, mapped from PIP_INDEX_URL, PIP_FIND_LINKS and PIP_NO_INDEX; a job's own package index
    /// removes all three (it comes as <see cref="PipIndexArguments"/> instead), so none of the runner's leaks in.
    /// </summary>
    protected static Dictionary<string, string?> PipEnvironment(BackendContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var own = context.Index is not null;
        var env = new Dictionary<string, string?>
        {
            ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1",
            ["PIP_NO_INPUT"] = "1",
            ["PYTHONUNBUFFERED"] = "1",
            ["PIP_INDEX_URL"] = own ? null : NullIfEmpty(context.Settings.PipIndexUrl),
            ["PIP_EXTRA_INDEX_URL"] = null,
            ["PIP_FIND_LINKS"] = own ? null : NullIfEmpty(context.Settings.PipFindLinks),
            ["PIP_NO_INDEX"] = own ? null : context.Settings.PipNoIndex ? "1" : null,
            ["PIP_TRUSTED_HOST"] = null,
        };
        return env;
    }

    /// <summary>The job's package index as <c>pip install</c> options; empty without one (the environment then carries the runner's settings).</summary>
    public static List<string> PipIndexArguments(BackendContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var args = new List<string>();
        if (context.Index is not { } index)
        {
            return args;
        }

        if (index.IndexUrl is { } url)
        {
            args.AddRange(["--index-url", url]);
        }

        foreach (var extra in index.ExtraIndexUrls)
        {
            args.AddRange(["--extra-index-url", extra]);
        }

        foreach (var link in index.FindLinks)
        {
            args.AddRange(["--find-links", link]);
        }

        foreach (var host in index.TrustedHosts)
        {
            args.AddRange(["--trusted-host", host]);
        }

        if (index.NoIndex)
        {
            args.Add("--no-index");
        }

        return args;
    }

    protected static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    /// <summary>The lines of pip's stderr that speak of <paramref name="requirement"/>.</summary>
    protected static string ErrorFor(string stderr, string requirement)
    {
        var lines = stderr.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Contains(requirement, StringComparison.OrdinalIgnoreCase) && l.Contains("ERROR", StringComparison.Ordinal)).ToList();
        return lines.Count > 0 ? string.Join("\n", lines) : PipFormats.ErrorText(stderr);
    }
}
