using EnvFabric.Core.Runner;
using EnvFabric.Core.Validation;
using EnvFabric.Runner.Discovery;
using EnvFabric.Runner.Processes;

namespace EnvFabric.Runner.Backends;

/// <summary>
/// <c>pythonX.Y -m venv --without-pip</c>, driven by the base interpreter's pip (<see cref="VenvTools"/>; with
/// <c>VENV_WITH_PIP</c> the venv gets pip of its own). The environment directory holds <c>.venv</c>, the declared
/// specs (<c>requirements.in</c>) and the lock (<c>requirements.lock.txt</c>, <c>pip freeze</c> output); sync
/// rebuilds <c>.venv</c> from scratch and installs the lock.
/// </summary>
public sealed class VenvBackend : EnvironmentBackendBase
{
    public override EnvironmentBackend Kind => EnvironmentBackend.Venv;

    protected override async Task<EnvironmentOutcome> CreateAsync(string dir, string pythonVersion, IReadOnlyList<PackageRequirement> specs, BackendContext context, CancellationToken cancellationToken)
    {
        var interpreter = ToolDiscovery.Resolve(context.Capabilities.Pythons, pythonVersion);
        if (interpreter is null)
        {
            var available = string.Join(", ", context.Capabilities.Pythons.Select(p => p.Version).Distinct());
            return EnvironmentOutcome.Failed($"Python {pythonVersion} is not available on this runner (available: {available})");
        }

        var venv = await context.Processes.RunAsync(new ProcessSpec([interpreter.Path, "-m", "venv", .. WithoutPip(context), Prefix(dir)]) { WorkingDirectory = dir }, cancellationToken);
        if (!venv.Succeeded)
        {
            return EnvironmentOutcome.FromProcess(venv, "creating the venv failed");
        }

        File.WriteAllText(Declared(dir), "");
        var (failures, stopped) = await InstallAsync(dir, specs, context, cancellationToken);
        if (stopped is not null)
        {
            return stopped;
        }

        return (await DescribeAsync(dir, context, refreshLock: true, cancellationToken)) with { FailedPackages = failures };
    }

    protected override async Task<EnvironmentOutcome> AddAsync(string dir, IReadOnlyList<PackageRequirement> specs, BackendContext context, CancellationToken cancellationToken)
    {
        var (failures, stopped) = await InstallAsync(dir, specs, context, cancellationToken);
        if (stopped is not null)
        {
            return stopped;
        }

        return (await DescribeAsync(dir, context, refreshLock: true, cancellationToken)) with { FailedPackages = failures };
    }

    protected override async Task<EnvironmentOutcome> RemoveAsync(string dir, IReadOnlyList<string> names, BackendContext context, CancellationToken cancellationToken)
    {
        var pip = await PipAsync(dir, context, cancellationToken);
        var outcome = await context.Processes.RunAsync(
            new ProcessSpec([.. pip, "uninstall", "-y", .. names]) { Environment = PipEnvironment(context), CaptureOutput = true, WorkingDirectory = dir },
            cancellationToken);
        if (!outcome.Succeeded)
        {
            return EnvironmentOutcome.FromProcess(outcome, "pip uninstall failed");
        }

        // pip exits 0 for a name that is not installed; report it as a failed package.
        var failures = names
            .Where(n => outcome.Stderr.Contains($"Skipping {n} as it is not installed", StringComparison.OrdinalIgnoreCase)
                || outcome.Stdout.Contains($"Skipping {n} as it is not installed", StringComparison.OrdinalIgnoreCase))
            .Select(n => new PackageFailure(n, $"{n} is not installed"))
            .ToList();
        RemoveDeclared(Declared(dir), names);
        return (await DescribeAsync(dir, context, refreshLock: true, cancellationToken)) with { FailedPackages = failures };
    }

    protected override async Task<EnvironmentOutcome> SyncAsync(string dir, BackendContext context, CancellationToken cancellationToken)
    {
        var lockPath = Path.Combine(dir, EnvironmentLayout.LockFileName(Kind));
        if (!File.Exists(lockPath))
        {
            return EnvironmentOutcome.Failed("the environment has no lock file (requirements.lock.txt): lock it first");
        }

        var baseInterpreter = VenvTools.BaseInterpreter(Prefix(dir));
        if (baseInterpreter is null)
        {
            return EnvironmentOutcome.Failed("the venv's base interpreter is unknown (pyvenv.cfg missing or unreadable)");
        }

        // A fresh environment: --clear empties .venv before it is rebuilt.
        var venv = await context.Processes.RunAsync(new ProcessSpec([baseInterpreter, "-m", "venv", "--clear", .. WithoutPip(context), Prefix(dir)]) { WorkingDirectory = dir }, cancellationToken);
        if (!venv.Succeeded)
        {
            return EnvironmentOutcome.FromProcess(venv, "recreating the venv failed");
        }

        var pip = await PipAsync(dir, context, cancellationToken);
        var install = await context.Processes.RunAsync(
            new ProcessSpec([.. pip, "install", .. PipIndexArguments(context), "-r", lockPath]) { Environment = PipEnvironment(context), CaptureOutput = true, WorkingDirectory = dir },
            cancellationToken);
        if (!install.Succeeded)
        {
            var failed = install.TimedOut || install.Cancelled ? [] : PipFormats.UnsatisfiedRequirements(install.Stderr).Select(r => new PackageFailure(r, ErrorFor(install.Stderr, r))).ToList();
            return EnvironmentOutcome.FromProcess(install, "installing the lock failed") with { FailedPackages = failed };
        }

        return await DescribeAsync(dir, context, refreshLock: false, cancellationToken);
    }

    protected override Task<EnvironmentOutcome> LockAsync(string dir, BackendContext context, CancellationToken cancellationToken) =>
        DescribeAsync(dir, context, refreshLock: true, cancellationToken);

    protected override async Task<EnvironmentOutcome> DescribeAsync(string dir, BackendContext context, bool refreshLock, CancellationToken cancellationToken)
    {
        // The venv's interpreter describes itself (packages and the pip freeze lock) in one start, a fraction of two
        // pip runs; pip list and pip freeze when it cannot (Python before 3.8).
        var lockPath = Path.Combine(dir, EnvironmentLayout.LockFileName(Kind));
        var described = await context.Processes.RunAsync(
            new ProcessSpec([Python(dir), "-I", "-c", VenvTools.DescribeScript]) { CaptureOutput = true, WorkingDirectory = dir, Display = $"{Python(dir)} -I -c <list distributions and freeze>" },
            cancellationToken);
        string listJson;
        string? frozen = null;
        if (described.Succeeded)
        {
            using var document = System.Text.Json.JsonDocument.Parse(described.Stdout);
            listJson = document.RootElement.GetProperty("packages").GetRawText();
            frozen = document.RootElement.GetProperty("freeze").GetString();
        }
        else if (described.TimedOut || described.Cancelled)
        {
            return EnvironmentOutcome.FromProcess(described, "listing packages");
        }
        else
        {
            var env = PipEnvironment(context);
            var pip = await PipAsync(dir, context, cancellationToken);
            var list = await context.Processes.RunAsync(new ProcessSpec([.. pip, "list", "--format", "json"]) { Environment = env, CaptureOutput = true, WorkingDirectory = dir }, cancellationToken);
            if (!list.Succeeded)
            {
                return EnvironmentOutcome.FromProcess(list, "pip list failed");
            }

            listJson = list.Stdout;
            if (refreshLock || !File.Exists(lockPath))
            {
                var freeze = await context.Processes.RunAsync(new ProcessSpec([.. pip, "freeze"]) { Environment = env, CaptureOutput = true, WorkingDirectory = dir }, cancellationToken);
                if (!freeze.Succeeded)
                {
                    return EnvironmentOutcome.FromProcess(freeze, "pip freeze failed");
                }

                frozen = freeze.Stdout;
            }
        }

        if (frozen is not null && (refreshLock || !File.Exists(lockPath)))
        {
            // Written beside the venv, not inside it: sync clears .venv and reinstalls from this file.
            await File.WriteAllTextAsync(lockPath, frozen, cancellationToken);
        }

        return new EnvironmentOutcome
        {
            Packages = PipFormats.ParseList(listJson),
            Dependencies = ReadDeclared(Declared(dir)),
            Lock = new LockFile(LockKind.PipFreeze, EnvironmentLayout.LockFileName(Kind), await File.ReadAllTextAsync(lockPath, cancellationToken)),
            PythonVersion = VenvTools.PythonVersion(Prefix(dir)),
            EnvironmentDirectory = dir,
        };
    }

    protected override ProcessSpec RunCodeSpec(string dir, string code, BackendContext context) =>
        new([Python(dir), "-c", code]) { Environment = new Dictionary<string, string?> { ["PYTHONUNBUFFERED"] = "1" }, Display = $"{Python(dir)} -c <code: {code.Length} chars>" };

    /// <summary>
    /// Installs all specs at once; when pip refuses, the specs it names are failed packages and the rest are
    /// retried together, and when that is not enough each spec is tried alone, so one bad spec does not sink the others.
    /// </summary>
    private async Task<(List<PackageFailure> Failures, EnvironmentOutcome? Stopped)> InstallAsync(string dir, IReadOnlyList<PackageRequirement> specs, BackendContext context, CancellationToken cancellationToken)
    {
        var failures = new List<PackageFailure>();
        if (specs.Count == 0)
        {
            return (failures, null);
        }

        var pip = await PipAsync(dir, context, cancellationToken);
        var bulk = await PipInstallAsync(dir, pip, specs, context, cancellationToken);
        if (bulk.Succeeded)
        {
            AddDeclared(Declared(dir), specs);
            return (failures, null);
        }

        if (bulk.TimedOut || bulk.Cancelled)
        {
            return (failures, EnvironmentOutcome.FromProcess(bulk, "pip install"));
        }

        var named = PipFormats.UnsatisfiedRequirements(bulk.Stderr)
            .Select(r => PackageSpec.TryParse(r, out var req, out _) ? req!.NormalizedName : PackageSpec.NormalizeName(r))
            .ToHashSet();
        var remaining = specs.Where(s => !named.Contains(s.NormalizedName)).ToList();
        failures.AddRange(specs.Where(s => named.Contains(s.NormalizedName)).Select(s => new PackageFailure(s.ToString(), ErrorFor(bulk.Stderr, s.Name))));
        if (failures.Count > 0 && remaining.Count > 0)
        {
            var retry = await PipInstallAsync(dir, pip, remaining, context, cancellationToken);
            if (retry.Succeeded)
            {
                AddDeclared(Declared(dir), remaining);
                return (failures, null);
            }
        }
        else if (failures.Count > 0)
        {
            return (failures, null);
        }

        foreach (var spec in remaining)
        {
            var single = await PipInstallAsync(dir, pip, [spec], context, cancellationToken);
            if (single.TimedOut || single.Cancelled)
            {
                return (failures, EnvironmentOutcome.FromProcess(single, "pip install"));
            }

            if (single.Succeeded)
            {
                AddDeclared(Declared(dir), [spec]);
            }
            else
            {
                failures.Add(new PackageFailure(spec.ToString(), PipFormats.ErrorText(single.Stderr)));
            }
        }

        return (failures, null);
    }

    private static Task<ProcessOutcome> PipInstallAsync(string dir, string[] pip, IReadOnlyList<PackageRequirement> specs, BackendContext context, CancellationToken cancellationToken) =>
        context.Processes.RunAsync(
            new ProcessSpec([.. pip, "install", .. PipIndexArguments(context), .. specs.Select(s => s.ToString())]) { Environment = PipEnvironment(context), CaptureOutput = true, WorkingDirectory = dir },
            cancellationToken);

    private string Prefix(string dir) => EnvironmentLayout.PrefixDirectory(Kind, dir);

    private string Python(string dir) => EnvironmentLayout.Python(Kind, dir);

    private string Declared(string dir) => Path.Combine(dir, EnvironmentLayout.DeclaredFileName(Kind));

    private static string[] WithoutPip(BackendContext context) => context.Options.VenvWithPip ? [] : ["--without-pip"];

    /// <summary>The pip for the venv; when no pip outside it can drive it, pip is put into the venv (ensurepip) first.</summary>
    private async Task<string[]> PipAsync(string dir, BackendContext context, CancellationToken cancellationToken)
    {
        if (await VenvTools.PipAsync(Prefix(dir), Python(dir), context.Processes, cancellationToken) is { } pip)
        {
            return pip;
        }

        context.Note("[envfabric] no pip outside the venv can install into it (pip 22.3 or later is needed); installing pip into the venv");
        await context.Processes.RunAsync(new ProcessSpec([Python(dir), "-m", "ensurepip", "--default-pip"]) { WorkingDirectory = dir, Environment = PipEnvironment(context) }, cancellationToken);
        return [Python(dir), "-m", "pip"];
    }
}
