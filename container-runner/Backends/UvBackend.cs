using EnvFabric.Core.Runner;
using EnvFabric.Core.Validation;
using EnvFabric.Runner.Processes;

namespace EnvFabric.Runner.Backends;

/// <summary>
/// A uv project per environment (seed 001): <c>uv init</c>, <c>uv add</c>, <c>uv remove</c>, <c>uv lock</c>,
/// <c>uv sync --frozen</c>, <c>uv export</c>, <c>uv run</c>, all with <c>--project</c>. The cache and the
/// interpreters live on the share (UV_CACHE_DIR, UV_PYTHON_INSTALL_DIR) and installs hardlink from the cache.
/// Locked versions are read from <c>uv.lock</c>, declared ones from <c>pyproject.toml</c>.
/// </summary>
public sealed class UvBackend : EnvironmentBackendBase
{
    public override EnvironmentBackend Kind => EnvironmentBackend.Uv;

    /// <summary>The environment of every uv process.</summary>
    public static Dictionary<string, string?> UvEnvironment(BackendContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new Dictionary<string, string?>
        {
            ["UV_CACHE_DIR"] = context.Paths.UvCache,
            ["UV_LINK_MODE"] = "hardlink",
            ["UV_PYTHON_INSTALL_DIR"] = context.Paths.Python,
            ["UV_NO_PROGRESS"] = "1",
            ["PYTHONUNBUFFERED"] = "1",
        };
    }

    /// <summary>The job's package index, else PIP_INDEX_URL, PIP_FIND_LINKS and PIP_NO_INDEX, as uv's own options.</summary>
    public static List<string> IndexArguments(BackendContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var args = new List<string>();
        if (context.Index is { } own)
        {
            if (own.IndexUrl is { } url)
            {
                args.AddRange(["--index-url", url]);
            }

            foreach (var extra in own.ExtraIndexUrls)
            {
                args.AddRange(["--extra-index-url", extra]);
            }

            foreach (var link in own.FindLinks)
            {
                args.AddRange(["--find-links", link]);
            }

            foreach (var host in own.TrustedHosts)
            {
                args.AddRange(["--allow-insecure-host", host]);
            }

            if (own.NoIndex)
            {
                args.Add("--no-index");
            }

            return args;
        }

        if (NullIfEmpty(context.Settings.PipIndexUrl) is { } index)
        {
            args.AddRange(["--default-index", index]);
        }

        if (NullIfEmpty(context.Settings.PipFindLinks) is { } links)
        {
            args.AddRange(["--find-links", links]);
        }

        if (context.Settings.PipNoIndex)
        {
            args.Add("--no-index");
        }

        return args;
    }

    protected override async Task<EnvironmentOutcome> CreateAsync(string dir, string pythonVersion, IReadOnlyList<PackageRequirement> specs, BackendContext context, CancellationToken cancellationToken)
    {
        var init = await UvAsync(context, dir, ["init", "--bare", "--no-workspace", "--python", pythonVersion, "--name", ProjectName(dir), dir], cancellationToken);
        if (!init.Succeeded)
        {
            return EnvironmentOutcome.FromProcess(init, "uv init failed");
        }

        if (specs.Count == 0)
        {
            var sync = await UvAsync(context, dir, ["sync", "--project", dir, .. IndexArguments(context)], cancellationToken);
            if (!sync.Succeeded)
            {
                return EnvironmentOutcome.FromProcess(sync, "uv sync failed");
            }

            return await DescribeAsync(dir, context, refreshLock: false, cancellationToken);
        }

        return await AddAsync(dir, specs, context, cancellationToken);
    }

    protected override async Task<EnvironmentOutcome> AddAsync(string dir, IReadOnlyList<PackageRequirement> specs, BackendContext context, CancellationToken cancellationToken)
    {
        // uv add resolves all specs together and changes nothing when any fails: retry one by one to tell which.
        var failures = new List<PackageFailure>();
        var bulk = await UvAsync(context, dir, ["add", "--project", dir, .. IndexArguments(context), .. specs.Select(s => s.ToString())], cancellationToken);
        if (bulk.TimedOut || bulk.Cancelled)
        {
            return EnvironmentOutcome.FromProcess(bulk, "uv add");
        }

        if (!bulk.Succeeded)
        {
            if (specs.Count == 1)
            {
                failures.Add(new PackageFailure(specs[0].ToString(), bulk.ErrorSummary(10)));
            }
            else
            {
                foreach (var spec in specs)
                {
                    var single = await UvAsync(context, dir, ["add", "--project", dir, .. IndexArguments(context), spec.ToString()], cancellationToken);
                    if (single.TimedOut || single.Cancelled)
                    {
                        return EnvironmentOutcome.FromProcess(single, "uv add");
                    }

                    if (!single.Succeeded)
                    {
                        failures.Add(new PackageFailure(spec.ToString(), single.ErrorSummary(10)));
                    }
                }
            }
        }

        return (await DescribeAsync(dir, context, refreshLock: false, cancellationToken)) with { FailedPackages = failures };
    }

    protected override async Task<EnvironmentOutcome> RemoveAsync(string dir, IReadOnlyList<string> names, BackendContext context, CancellationToken cancellationToken)
    {
        var declared = ReadDependencies(dir).Select(d => PackageSpec.TryParse(d, out var r, out _) ? r!.NormalizedName : d).ToHashSet();
        var failures = names.Where(n => !declared.Contains(PackageSpec.NormalizeName(n))).Select(n => new PackageFailure(n, $"{n} is not a dependency of the project")).ToList();
        var present = names.Where(n => declared.Contains(PackageSpec.NormalizeName(n))).ToList();
        if (present.Count > 0)
        {
            var remove = await UvAsync(context, dir, ["remove", "--project", dir, .. IndexArguments(context), .. present], cancellationToken);
            if (!remove.Succeeded)
            {
                return EnvironmentOutcome.FromProcess(remove, "uv remove failed");
            }
        }

        return (await DescribeAsync(dir, context, refreshLock: false, cancellationToken)) with { FailedPackages = failures };
    }

    protected override async Task<EnvironmentOutcome> SyncAsync(string dir, BackendContext context, CancellationToken cancellationToken)
    {
        if (!File.Exists(Path.Combine(dir, "uv.lock")))
        {
            return EnvironmentOutcome.Failed("the project has no uv.lock: lock it first");
        }

        // A fresh .venv, filled from the lock as it is (--frozen: the lock is not re-resolved).
        var venv = EnvironmentLayout.PrefixDirectory(Kind, dir);
        if (Directory.Exists(venv))
        {
            Directory.Delete(venv, recursive: true);
        }

        var sync = await UvAsync(context, dir, ["sync", "--frozen", "--project", dir, .. IndexArguments(context)], cancellationToken);
        if (!sync.Succeeded)
        {
            return EnvironmentOutcome.FromProcess(sync, "uv sync failed");
        }

        return await DescribeAsync(dir, context, refreshLock: false, cancellationToken);
    }

    protected override async Task<EnvironmentOutcome> LockAsync(string dir, BackendContext context, CancellationToken cancellationToken)
    {
        var locked = await UvAsync(context, dir, ["lock", "--project", dir, .. IndexArguments(context)], cancellationToken);
        if (!locked.Succeeded)
        {
            return EnvironmentOutcome.FromProcess(locked, "uv lock failed");
        }

        // The requirements export sits beside the lock for tools that cannot read uv.lock.
        var export = await UvAsync(context, dir, ["export", "--frozen", "--format", "requirements-txt", "--no-hashes", "--project", dir, "--output-file", Path.Combine(dir, "requirements.lock.txt")], cancellationToken);
        var described = await DescribeAsync(dir, context, refreshLock: false, cancellationToken);
        return export.Succeeded ? described : described with { Warnings = [.. described.Warnings, "uv export failed: " + export.ErrorSummary()] };
    }

    protected override async Task<EnvironmentOutcome> DescribeAsync(string dir, BackendContext context, bool refreshLock, CancellationToken cancellationToken)
    {
        var lockPath = Path.Combine(dir, "uv.lock");
        if (!File.Exists(lockPath))
        {
            var locked = await UvAsync(context, dir, ["lock", "--project", dir, .. IndexArguments(context)], cancellationToken);
            if (!locked.Succeeded)
            {
                return EnvironmentOutcome.FromProcess(locked, "uv lock failed");
            }
        }

        var text = await File.ReadAllTextAsync(lockPath, cancellationToken);
        return new EnvironmentOutcome
        {
            Packages = UvFormats.ParseLockPackages(text),
            Dependencies = ReadDependencies(dir),
            Lock = new LockFile(LockKind.UvLock, "uv.lock", text),
            PythonVersion = ReadPythonVersion(dir),
            EnvironmentDirectory = dir,
        };
    }

    protected override ProcessSpec RunCodeSpec(string dir, string code, BackendContext context) =>
        new(["uv", "run", "--frozen", "--project", dir, "--", "python", "-c", code])
        {
            Environment = UvEnvironment(context),
            Display = $"uv run --frozen --project {dir} -- python -c <code: {code.Length} chars>",
        };

    private static IReadOnlyList<string> ReadDependencies(string dir)
    {
        var pyproject = Path.Combine(dir, "pyproject.toml");
        return File.Exists(pyproject) ? UvFormats.ParseProjectDependencies(File.ReadAllText(pyproject)) : [];
    }

    private string? ReadPythonVersion(string dir)
    {
        // uv writes version_info into the venv's pyvenv.cfg; before the first sync only .python-version exists.
        var cfg = Path.Combine(EnvironmentLayout.PrefixDirectory(Kind, dir), "pyvenv.cfg");
        if (File.Exists(cfg))
        {
            foreach (var line in File.ReadAllLines(cfg))
            {
                var eq = line.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0 && line[..eq].Trim() is "version_info" or "version")
                {
                    return line[(eq + 1)..].Trim();
                }
            }
        }

        var pinned = Path.Combine(dir, ".python-version");
        return File.Exists(pinned) ? File.ReadAllText(pinned).Trim() : null;
    }

    private static string ProjectName(string dir)
    {
        var name = new string(Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '-').ToArray()).Trim('-', '.');
        return name.Length == 0 ? "environment" : name.ToLowerInvariant();
    }

    private static Task<ProcessOutcome> UvAsync(BackendContext context, string dir, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        context.Processes.RunAsync(
            new ProcessSpec(["uv", .. args]) { Environment = UvEnvironment(context), CaptureOutput = true, WorkingDirectory = dir },
            cancellationToken);
}
