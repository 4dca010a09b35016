using EnvFabric.Core.Runner;
using EnvFabric.Core.Validation;
using EnvFabric.Runner.Discovery;
using EnvFabric.Runner.Processes;

namespace EnvFabric.Runner.Backends;

/// <summary>
/// <c>pythonX.Y -m venv</c> plus pip. The environment directory holds <c>.venv</c>, the declared specs
/// (<c>requirements.in</c>) and the lock (<c>requirements.lock.txt</c>, <c>pip freeze</c> output); sync rebuilds
/// <c>.venv</c> from scratch and installs the lock.
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

        var venv = await context.Processes.RunAsync(new ProcessSpec([interpreter.Path, "-m", "venv", Prefix(dir)]) { WorkingDirectory = dir }, cancellationToken);
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
        var outcome = await context.Processes.RunAsync(
            new ProcessSpec([Python(dir), "-m", "pip", "uninstall", "-y", .. names]) { Environment = PipEnvironment(context), CaptureOutput = true, WorkingDirectory = dir },
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

        var baseInterpreter = BaseInterpreter(dir);
        if (baseInterpreter is null)
        {
            return EnvironmentOutcome.Failed("the venv's base interpreter is unknown (pyvenv.cfg missing or unreadable)");
        }

        // A fresh environment: --clear empties .venv before it is rebuilt.
        var venv = await context.Processes.RunAsync(new ProcessSpec([baseInterpreter, "-m", "venv", "--clear", Prefix(dir)]) { WorkingDirectory = dir }, cancellationToken);
        if (!venv.Succeeded)
        {
            return EnvironmentOutcome.FromProcess(venv, "recreating the venv failed");
        }

        var install = await context.Processes.RunAsync(
            new ProcessSpec([Python(dir), "-m", "pip", "install", "-r", lockPath]) { Environment = PipEnvironment(context), CaptureOutput = true, WorkingDirectory = dir },
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
        var env = PipEnvironment(context);
        var list = await context.Processes.RunAsync(
            new ProcessSpec([Python(dir), "-m", "pip", "list", "--format", "json"]) { Environment = env, CaptureOutput = true, WorkingDirectory = dir },
            cancellationToken);
        if (!list.Succeeded)
        {
            return EnvironmentOutcome.FromProcess(list, "pip list failed");
        }

        var lockPath = Path.Combine(dir, EnvironmentLayout.LockFileName(Kind));
        if (refreshLock || !File.Exists(lockPath))
        {
            var freeze = await context.Processes.RunAsync(
                new ProcessSpec([Python(dir), "-m", "pip", "freeze"]) { Environment = env, CaptureOutput = true, WorkingDirectory = dir },
                cancellationToken);
            if (!freeze.Succeeded)
            {
                return EnvironmentOutcome.FromProcess(freeze, "pip freeze failed");
            }

            // Written beside the venv, not inside it: sync clears .venv and reinstalls from this file.
            await File.WriteAllTextAsync(lockPath, freeze.Stdout, cancellationToken);
        }

        return new EnvironmentOutcome
        {
            Packages = PipFormats.ParseList(list.Stdout),
            Dependencies = ReadDeclared(Declared(dir)),
            Lock = new LockFile(LockKind.PipFreeze, EnvironmentLayout.LockFileName(Kind), await File.ReadAllTextAsync(lockPath, cancellationToken)),
            PythonVersion = PythonVersion(dir),
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

        var bulk = await PipInstallAsync(dir, specs, context, cancellationToken);
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
            var retry = await PipInstallAsync(dir, remaining, context, cancellationToken);
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
            var single = await PipInstallAsync(dir, [spec], context, cancellationToken);
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

    private Task<ProcessOutcome> PipInstallAsync(string dir, IReadOnlyList<PackageRequirement> specs, BackendContext context, CancellationToken cancellationToken) =>
        context.Processes.RunAsync(
            new ProcessSpec([Python(dir), "-m", "pip", "install", .. specs.Select(s => s.ToString())]) { Environment = PipEnvironment(context), CaptureOutput = true, WorkingDirectory = dir },
            cancellationToken);

    private string Prefix(string dir) => EnvironmentLayout.PrefixDirectory(Kind, dir);

    private string Python(string dir) => EnvironmentLayout.Python(Kind, dir);

    private string Declared(string dir) => Path.Combine(dir, EnvironmentLayout.DeclaredFileName(Kind));

    private Dictionary<string, string> PyvenvCfg(string dir)
    {
        var path = Path.Combine(Prefix(dir), "pyvenv.cfg");
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (!File.Exists(path))
        {
            return values;
        }

        foreach (var line in File.ReadAllLines(path))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                values[line[..eq].Trim()] = line[(eq + 1)..].Trim();
            }
        }

        return values;
    }

    private string? PythonVersion(string dir)
    {
        var cfg = PyvenvCfg(dir);
        return cfg.TryGetValue("version_info", out var info) ? info : cfg.TryGetValue("version", out var version) ? version : null;
    }

    private string? BaseInterpreter(string dir)
    {
        var cfg = PyvenvCfg(dir);
        if (cfg.TryGetValue("executable", out var exe) && File.Exists(exe))
        {
            return exe;
        }

        if (cfg.TryGetValue("home", out var home))
        {
            var version = PythonVersion(dir);
            var candidates = new[] { version is null ? null : "python" + string.Join('.', version.Split('.').Take(2)), "python3", "python" };
            return candidates.Where(c => c is not null).Select(c => Path.Combine(home, c!)).FirstOrDefault(File.Exists);
        }

        return null;
    }
}
