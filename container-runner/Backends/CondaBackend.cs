using EnvFabric.Core.Runner;
using EnvFabric.Core.Validation;
using EnvFabric.Runner.Processes;

namespace EnvFabric.Runner.Backends;

/// <summary>
/// A conda prefix per environment (<c>{dir}/env</c>), built by micromamba, else mamba, else conda:
/// <c>create -p</c>, <c>install</c>, <c>remove</c>, <c>list --json</c>, <c>env export</c>, and an explicit lock
/// (<c>list --explicit --md5</c>) that sync recreates the prefix from. Specs conda cannot express (extras,
/// markers, URLs), and specs conda cannot find, go through the environment's own pip.
/// </summary>
public sealed class CondaBackend : EnvironmentBackendBase
{
    public override EnvironmentBackend Kind => EnvironmentBackend.Conda;

    public static Dictionary<string, string?> CondaEnvironment(BackendContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new Dictionary<string, string?>
        {
            ["MAMBA_ROOT_PREFIX"] = context.Options.MambaRootPrefix ?? Path.Combine(context.Paths.DataRoot, "conda"),
            ["CONDA_PKGS_DIRS"] = Path.Combine(context.Options.MambaRootPrefix ?? Path.Combine(context.Paths.DataRoot, "conda"), "pkgs"),
            ["PYTHONUNBUFFERED"] = "1",
        };
    }

    /// <summary>A PEP 508 spec as a conda match spec, or null when only pip can install it.</summary>
    public static string? ToMatchSpec(PackageRequirement spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Url is not null || spec.Marker is not null || spec.Extras.Count > 0)
        {
            return null;
        }

        // conda reads "name>=1,<2" and "name==1.2" like pip; "~=" has no conda spelling.
        if (spec.Specifiers.Any(s => s.Operator == "~=" || s.Operator == "==="))
        {
            return null;
        }

        return spec.Specifiers.Count == 0 ? spec.Name.ToLowerInvariant() : spec.Name.ToLowerInvariant() + string.Join(',', spec.Specifiers.Select(s => s.ToString()));
    }

    protected override async Task<EnvironmentOutcome> CreateAsync(string dir, string pythonVersion, IReadOnlyList<PackageRequirement> specs, BackendContext context, CancellationToken cancellationToken)
    {
        var tool = Tool(context);
        var condaSpecs = specs.Select(s => (Spec: s, Match: ToMatchSpec(s))).ToList();
        var create = await RunAsync(context, dir, [tool, "create", "-y", "-p", Prefix(dir), "python=" + pythonVersion, "pip", .. condaSpecs.Where(c => c.Match is not null).Select(c => c.Match!)], cancellationToken);
        var pipOnly = condaSpecs.Where(c => c.Match is null).Select(c => c.Spec).ToList();
        var failures = new List<PackageFailure>();
        if (!create.Succeeded)
        {
            if (create.TimedOut || create.Cancelled)
            {
                return EnvironmentOutcome.FromProcess(create, "conda create");
            }

            // Create the bare environment, then install each conda spec alone to learn which failed.
            var bare = await RunAsync(context, dir, [tool, "create", "-y", "-p", Prefix(dir), "python=" + pythonVersion, "pip"], cancellationToken);
            if (!bare.Succeeded)
            {
                return EnvironmentOutcome.FromProcess(bare, "conda create failed");
            }

            var (moreFailures, toPip) = await InstallCondaOneByOneAsync(dir, condaSpecs.Where(c => c.Match is not null).ToList(), context, cancellationToken);
            failures.AddRange(moreFailures);
            pipOnly.AddRange(toPip);
        }

        failures.AddRange(await PipInstallAsync(dir, pipOnly, context, cancellationToken));
        AddDeclared(Declared(dir), specs.Where(s => failures.All(f => f.Package != s.ToString())));
        return (await DescribeAsync(dir, context, refreshLock: true, cancellationToken)) with { FailedPackages = failures };
    }

    protected override async Task<EnvironmentOutcome> AddAsync(string dir, IReadOnlyList<PackageRequirement> specs, BackendContext context, CancellationToken cancellationToken)
    {
        var condaSpecs = specs.Select(s => (Spec: s, Match: ToMatchSpec(s))).ToList();
        var pipOnly = condaSpecs.Where(c => c.Match is null).Select(c => c.Spec).ToList();
        var failures = new List<PackageFailure>();
        var viaConda = condaSpecs.Where(c => c.Match is not null).ToList();
        if (viaConda.Count > 0)
        {
            var install = await RunAsync(context, dir, [Tool(context), "install", "-y", "-p", Prefix(dir), .. viaConda.Select(c => c.Match!)], cancellationToken);
            if (install.TimedOut || install.Cancelled)
            {
                return EnvironmentOutcome.FromProcess(install, "conda install");
            }

            if (!install.Succeeded)
            {
                var (moreFailures, toPip) = await InstallCondaOneByOneAsync(dir, viaConda, context, cancellationToken);
                failures.AddRange(moreFailures);
                pipOnly.AddRange(toPip);
            }
        }

        failures.AddRange(await PipInstallAsync(dir, pipOnly, context, cancellationToken));
        AddDeclared(Declared(dir), specs.Where(s => failures.All(f => f.Package != s.ToString())));
        return (await DescribeAsync(dir, context, refreshLock: true, cancellationToken)) with { FailedPackages = failures };
    }

    protected override async Task<EnvironmentOutcome> RemoveAsync(string dir, IReadOnlyList<string> names, BackendContext context, CancellationToken cancellationToken)
    {
        var listed = await ListAsync(dir, context, cancellationToken);
        if (listed.Outcome is not null)
        {
            return listed.Outcome;
        }

        var byConda = listed.Packages!.Where(p => p.Channel != "pypi").Select(p => PackageSpec.NormalizeName(p.Name)).ToHashSet();
        var byPip = listed.Packages!.Where(p => p.Channel == "pypi").Select(p => PackageSpec.NormalizeName(p.Name)).ToHashSet();
        var failures = names.Where(n => !byConda.Contains(PackageSpec.NormalizeName(n)) && !byPip.Contains(PackageSpec.NormalizeName(n)))
            .Select(n => new PackageFailure(n, $"{n} is not installed")).ToList();
        var condaNames = names.Where(n => byConda.Contains(PackageSpec.NormalizeName(n))).ToList();
        var pipNames = names.Where(n => byPip.Contains(PackageSpec.NormalizeName(n))).ToList();
        if (condaNames.Count > 0)
        {
            var remove = await RunAsync(context, dir, [Tool(context), "remove", "-y", "-p", Prefix(dir), .. condaNames], cancellationToken);
            if (!remove.Succeeded)
            {
                return EnvironmentOutcome.FromProcess(remove, "conda remove failed");
            }
        }

        if (pipNames.Count > 0)
        {
            var remove = await RunAsync(context, dir, [EnvironmentLayout.Python(Kind, dir), "-m", "pip", "uninstall", "-y", .. pipNames], cancellationToken);
            if (!remove.Succeeded)
            {
                return EnvironmentOutcome.FromProcess(remove, "pip uninstall failed");
            }
        }

        RemoveDeclared(Declared(dir), names);
        return (await DescribeAsync(dir, context, refreshLock: true, cancellationToken)) with { FailedPackages = failures };
    }

    protected override async Task<EnvironmentOutcome> SyncAsync(string dir, BackendContext context, CancellationToken cancellationToken)
    {
        var lockPath = Path.Combine(dir, EnvironmentLayout.LockFileName(Kind));
        if (!File.Exists(lockPath))
        {
            return EnvironmentOutcome.Failed("the environment has no explicit lock (conda-explicit.txt): lock it first");
        }

        if (Directory.Exists(Prefix(dir)))
        {
            Directory.Delete(Prefix(dir), recursive: true);
        }

        var create = await RunAsync(context, dir, [Tool(context), "create", "-y", "-p", Prefix(dir), "--file", lockPath], cancellationToken);
        if (!create.Succeeded)
        {
            return EnvironmentOutcome.FromProcess(create, "conda create from the lock failed");
        }

        return await DescribeAsync(dir, context, refreshLock: false, cancellationToken);
    }

    protected override Task<EnvironmentOutcome> LockAsync(string dir, BackendContext context, CancellationToken cancellationToken) =>
        DescribeAsync(dir, context, refreshLock: true, cancellationToken);

    protected override async Task<EnvironmentOutcome> DescribeAsync(string dir, BackendContext context, bool refreshLock, CancellationToken cancellationToken)
    {
        var listed = await ListAsync(dir, context, cancellationToken);
        if (listed.Outcome is not null)
        {
            return listed.Outcome;
        }

        var lockPath = Path.Combine(dir, EnvironmentLayout.LockFileName(Kind));
        if (refreshLock || !File.Exists(lockPath))
        {
            var explicitLock = await RunAsync(context, dir, [Tool(context), "list", "-p", Prefix(dir), "--explicit", "--md5"], cancellationToken);
            if (!explicitLock.Succeeded)
            {
                return EnvironmentOutcome.FromProcess(explicitLock, "conda list --explicit failed");
            }

            await File.WriteAllTextAsync(lockPath, explicitLock.Stdout, cancellationToken);
            var export = await RunAsync(context, dir, [Tool(context), "env", "export", "-p", Prefix(dir)], cancellationToken);
            if (export.Succeeded)
            {
                await File.WriteAllTextAsync(Path.Combine(dir, "environment.yml"), export.Stdout, cancellationToken);
            }
        }

        var python = listed.Packages!.FirstOrDefault(p => p.Name == "python")?.Version;
        return new EnvironmentOutcome
        {
            Packages = listed.Packages!.Select(p => new InstalledPackage(p.Name, p.Version)).ToList(),
            Dependencies = ReadDeclared(Declared(dir)),
            Lock = new LockFile(LockKind.CondaExplicit, EnvironmentLayout.LockFileName(Kind), await File.ReadAllTextAsync(lockPath, cancellationToken)),
            PythonVersion = python,
            EnvironmentDirectory = dir,
        };
    }

    protected override ProcessSpec RunCodeSpec(string dir, string code, BackendContext context) =>
        new([EnvironmentLayout.Python(Kind, dir), "-c", code])
        {
            Environment = new Dictionary<string, string?> { ["PYTHONUNBUFFERED"] = "1", ["CONDA_PREFIX"] = Prefix(dir) },
            Display = $"{EnvironmentLayout.Python(Kind, dir)} -c <code: {code.Length} chars>",
        };

    private async Task<(List<PackageFailure> Failures, List<PackageRequirement> ToPip)> InstallCondaOneByOneAsync(
        string dir, List<(PackageRequirement Spec, string? Match)> specs, BackendContext context, CancellationToken cancellationToken)
    {
        var failures = new List<PackageFailure>();
        var toPip = new List<PackageRequirement>();
        foreach (var (spec, match) in specs)
        {
            var single = await RunAsync(context, dir, [Tool(context), "install", "-y", "-p", Prefix(dir), match!], cancellationToken);
            if (!single.Succeeded)
            {
                // Not on the conda channels: the package may exist on the pip index only.
                toPip.Add(spec);
            }
        }

        return (failures, toPip);
    }

    private async Task<List<PackageFailure>> PipInstallAsync(string dir, List<PackageRequirement> specs, BackendContext context, CancellationToken cancellationToken)
    {
        var failures = new List<PackageFailure>();
        foreach (var spec in specs)
        {
            var pip = await context.Processes.RunAsync(
                new ProcessSpec([EnvironmentLayout.Python(Kind, dir), "-m", "pip", "install", .. PipIndexArguments(context), spec.ToString()]) { Environment = PipEnvironment(context), CaptureOutput = true, WorkingDirectory = dir },
                cancellationToken);
            if (!pip.Succeeded)
            {
                failures.Add(new PackageFailure(spec.ToString(), PipFormats.ErrorText(pip.Stderr)));
            }
        }

        return failures;
    }

    private async Task<(List<CondaPackage>? Packages, EnvironmentOutcome? Outcome)> ListAsync(string dir, BackendContext context, CancellationToken cancellationToken)
    {
        var list = await RunAsync(context, dir, [Tool(context), "list", "-p", Prefix(dir), "--json"], cancellationToken);
        if (!list.Succeeded)
        {
            return (null, EnvironmentOutcome.FromProcess(list, "conda list failed"));
        }

        return (CondaFormats.ParseListWithChannels(list.Stdout).ToList(), null);
    }

    private static string Tool(BackendContext context) =>
        context.Capabilities.CondaTool ?? throw new InvalidOperationException("no conda tool (micromamba, mamba, conda) on this runner");

    private string Prefix(string dir) => EnvironmentLayout.PrefixDirectory(Kind, dir);

    private string Declared(string dir) => Path.Combine(dir, EnvironmentLayout.DeclaredFileName(Kind));

    private static Task<ProcessOutcome> RunAsync(BackendContext context, string dir, IReadOnlyList<string> argv, CancellationToken cancellationToken) =>
        context.Processes.RunAsync(new ProcessSpec(argv) { Environment = CondaEnvironment(context), CaptureOutput = true, WorkingDirectory = dir }, cancellationToken);
}
