using EnvFabric.Core.Configuration;
using EnvFabric.Core.Runner;
using EnvFabric.Runner.Backends;
using EnvFabric.Runner.Processes;
using EnvFabric.Testing;
using Moq;

namespace EnvFabric.Runner.Tests;

/// <summary>
/// uv and conda (not installed here) through the argv they are given and the real file formats they leave
/// behind: the process port is mocked, and the mock writes what the tool would write (uv.lock, pyproject.toml)
/// or answers with the tool's real JSON, so parsing is exercised on genuine formats.
/// </summary>
public sealed class BackendArgvTests : IDisposable
{
    private const string Micromamba = "/opt/conda/bin/micromamba";
    private readonly TempDirectory _share = new("envfabric-argv");
    private readonly Mock<IProcessRunner> _processes = new(MockBehavior.Strict);
    private readonly List<ProcessSpec> _calls = [];
    private readonly BackendContext _context;

    public BackendArgvTests()
    {
        var settings = new EnvFabricOptions { DataRoot = _share.Path, PipIndexUrl = "https://mirror.example/simple", PipFindLinks = "/wheels", PipNoIndex = true };
        _context = new BackendContext(
            _processes.Object,
            _ => { },
            new RunnerCapabilities { CondaTool = Micromamba, Backends = [EnvironmentBackend.Uv, EnvironmentBackend.Conda] },
            settings,
            new DataPaths(settings, _share.Path),
            new RunnerOptions());
        Directory.CreateDirectory(_context.Paths.Envs);
    }

    private static string Data(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", name));

    private static ProcessOutcome Ok(string stdout = "") => new() { ExitCode = 0, Stdout = stdout };

    private static ProcessOutcome Fail(string stderr) => new() { ExitCode = 1, Stderr = stderr };

    private void Answer(Func<ProcessSpec, ProcessOutcome> answer) =>
        _processes.Setup(p => p.RunAsync(It.IsAny<ProcessSpec>(), It.IsAny<CancellationToken>()))
            .Returns((ProcessSpec spec, CancellationToken _) =>
            {
                _calls.Add(spec);
                return Task.FromResult(answer(spec));
            });

    [Fact]
    public async Task UvCreate_WithSpecs_InitsProjectAddsWithIndexSettingsAndReadsUvLock()
    {
        var dir = Path.Combine(_context.Paths.Envs, "wf1_node1_v1");
        Answer(spec =>
        {
            if (spec.Argv[1] == "add")
            {
                File.WriteAllText(Path.Combine(dir, "uv.lock"), Data("uv.lock"));
                File.WriteAllText(Path.Combine(dir, "pyproject.toml"), Data("pyproject.toml"));
            }

            return Ok();
        });

        var outcome = await new UvBackend().ExecuteAsync(
            new CreateEnvironmentJob { JobId = "j", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = dir, Backend = EnvironmentBackend.Uv, PythonVersion = "3.12", Packages = ["requests>=2.31"] },
            _context,
            CancellationToken.None);

        Assert.Equal(JobStatus.Succeeded, outcome.Status);
        Assert.Equal(2, _calls.Count);
        Assert.Equal(["uv", "init", "--bare", "--no-workspace", "--python", "3.12", "--name", "wf1_node1_v1".Replace('_', '-'), dir], _calls[0].Argv);
        Assert.Equal(["uv", "add", "--project", dir, "--default-index", "https://mirror.example/simple", "--find-links", "/wheels", "--no-index", "requests>=2.31"], _calls[1].Argv);
        Assert.All(_calls, c =>
        {
            Assert.Equal(_context.Paths.UvCache, c.Environment["UV_CACHE_DIR"]);
            Assert.Equal("hardlink", c.Environment["UV_LINK_MODE"]);
            Assert.Equal(_context.Paths.Python, c.Environment["UV_PYTHON_INSTALL_DIR"]);
        });
        Assert.Equal(
            [new("certifi", "2024.8.30"), new("charset-normalizer", "3.4.0"), new("idna", "3.10"), new("requests", "2.32.3"), new InstalledPackage("urllib3", "2.2.3")],
            outcome.Packages!);
        Assert.Equal(["requests>=2.31"], outcome.Dependencies!);
        Assert.Equal(LockKind.UvLock, outcome.Lock!.Kind);
        Assert.Equal(Data("uv.lock"), outcome.Lock.Text);
    }

    [Fact]
    public async Task UvAdd_OneSpecUnresolvable_RetriesEachAloneAndReportsItsError()
    {
        var dir = Path.Combine(_context.Paths.Envs, "uvadd");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "uv.lock"), Data("uv.lock"));
        File.WriteAllText(Path.Combine(dir, "pyproject.toml"), Data("pyproject.toml"));
        const string error = "  × No solution found when resolving dependencies:\n  ╰─▶ Because nosuchpkg was not found in the package registry and your project depends on nosuchpkg, we can conclude that your project's requirements are unsatisfiable.";
        Answer(spec => spec.Argv.Contains("nosuchpkg") ? Fail(error) : Ok());

        var outcome = await new UvBackend().ExecuteAsync(
            new AddPackagesJob { JobId = "j", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = dir, Backend = EnvironmentBackend.Uv, Packages = ["idna", "nosuchpkg"] },
            _context,
            CancellationToken.None);

        Assert.Equal(JobStatus.Succeeded, outcome.Status);
        Assert.Equal(3, _calls.Count);
        Assert.Equal("idna", _calls[1].Argv[^1]);
        Assert.Equal("nosuchpkg", _calls[2].Argv[^1]);
        var failure = Assert.Single(outcome.FailedPackages);
        Assert.Equal("nosuchpkg", failure.Package);
        Assert.Contains("nosuchpkg was not found in the package registry", failure.Error);
    }

    [Fact]
    public async Task UvSyncLockRemoveRun_UseProjectArgv()
    {
        var dir = Path.Combine(_context.Paths.Envs, "uvops");
        Directory.CreateDirectory(Path.Combine(dir, ".venv"));
        File.WriteAllText(Path.Combine(dir, "uv.lock"), Data("uv.lock"));
        File.WriteAllText(Path.Combine(dir, "pyproject.toml"), Data("pyproject.toml"));
        Answer(_ => Ok("ok"));
        var backend = new UvBackend();
        RunnerJob Job(RunnerJob j) => j;

        await backend.ExecuteAsync(Job(new SyncEnvironmentJob { JobId = "j", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = dir, Backend = EnvironmentBackend.Uv }), _context, CancellationToken.None);
        await backend.ExecuteAsync(new LockEnvironmentJob { JobId = "j", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = dir, Backend = EnvironmentBackend.Uv }, _context, CancellationToken.None);
        var removed = await backend.ExecuteAsync(new RemovePackagesJob { JobId = "j", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = dir, Backend = EnvironmentBackend.Uv, Packages = ["requests", "numpy"] }, _context, CancellationToken.None);
        var ran = await backend.ExecuteAsync(new RunCodeJob { JobId = "j", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = dir, Backend = EnvironmentBackend.Uv, Code = "print(1)", TimeoutSeconds = 7 }, _context, CancellationToken.None);

        Assert.False(Directory.Exists(Path.Combine(dir, ".venv")), "sync starts from a fresh .venv");
        Assert.Equal(["uv", "sync", "--frozen", "--project", dir, "--default-index", "https://mirror.example/simple", "--find-links", "/wheels", "--no-index"], _calls[0].Argv);
        Assert.Equal(["uv", "lock", "--project", dir, "--default-index", "https://mirror.example/simple", "--find-links", "/wheels", "--no-index"], _calls[1].Argv);
        Assert.Equal(["uv", "export", "--frozen", "--format", "requirements-txt", "--no-hashes", "--project", dir, "--output-file", Path.Combine(dir, "requirements.lock.txt")], _calls[2].Argv);
        Assert.Equal(["uv", "remove", "--project", dir, "--default-index", "https://mirror.example/simple", "--find-links", "/wheels", "--no-index", "requests"], _calls[3].Argv);
        Assert.Equal("numpy", Assert.Single(removed.FailedPackages).Package);
        Assert.Equal(["uv", "run", "--frozen", "--project", dir, "--", "python", "-c", "print(1)"], _calls[4].Argv);
        Assert.Equal(TimeSpan.FromSeconds(7), _calls[4].Timeout);
        Assert.Equal(JobStatus.Succeeded, ran.Status);
    }

    [Fact]
    public async Task Backends_InvalidSpec_RejectedWithoutAnyProcess()
    {
        var dir = Path.Combine(_context.Paths.Envs, "rejected");
        foreach (EnvironmentBackendBase backend in new EnvironmentBackendBase[] { new UvBackend(), new CondaBackend(), new VenvBackend() })
        {
            var outcome = await backend.ExecuteAsync(
                new CreateEnvironmentJob { JobId = "j", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = dir, Packages = ["requests", "evil; rm -rf /"] },
                _context,
                CancellationToken.None);
            Assert.Equal(JobStatus.Rejected, outcome.Status);
        }

        _processes.Verify(p => p.RunAsync(It.IsAny<ProcessSpec>(), It.IsAny<CancellationToken>()), Times.Never);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public async Task CondaCreate_CondaSpecsThroughMicromambaPipOnlyThroughEnvPip_ReadsListJsonAndExplicitLock()
    {
        var dir = Path.Combine(_context.Paths.Envs, "conda1");
        var prefix = Path.Combine(dir, "env");
        Answer(spec => spec.Argv switch
        {
            [_, "list", _, _, "--json"] => Ok(Data("conda-list.json")),
            [_, "list", _, _, "--explicit", "--md5"] => Ok(Data("conda-explicit.txt")),
            [_, "env", "export", ..] => Ok("name: null\ndependencies:\n  - python=3.11.9\n"),
            _ => Ok(),
        });

        var outcome = await new CondaBackend().ExecuteAsync(
            new CreateEnvironmentJob { JobId = "j", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = dir, Backend = EnvironmentBackend.Conda, PythonVersion = "3.11", Packages = ["numpy>=1.26", "requests[socks]>=2.31"] },
            _context,
            CancellationToken.None);

        Assert.Equal(JobStatus.Succeeded, outcome.Status);
        Assert.Equal([Micromamba, "create", "-y", "-p", prefix, "python=3.11", "pip", "numpy>=1.26"], _calls[0].Argv);
        Assert.Equal([Path.Combine(prefix, "bin", "python"), "-m", "pip", "install", "requests[socks]>=2.31"], _calls[1].Argv);
        Assert.Equal("/wheels", _calls[1].Environment["PIP_FIND_LINKS"]);
        Assert.Equal([Micromamba, "list", "-p", prefix, "--json"], _calls[2].Argv);
        Assert.Equal([Micromamba, "list", "-p", prefix, "--explicit", "--md5"], _calls[3].Argv);
        Assert.Equal([Micromamba, "env", "export", "-p", prefix], _calls[4].Argv);
        Assert.All(_calls.Where(c => c.Argv[0] == Micromamba), c => Assert.Equal(Path.Combine(_share.Path, "conda"), c.Environment["MAMBA_ROOT_PREFIX"]));
        Assert.Contains(new InstalledPackage("numpy", "1.26.4"), outcome.Packages!);
        Assert.Contains(new InstalledPackage("requests", "2.32.3"), outcome.Packages!);
        Assert.Equal("3.11.9", outcome.PythonVersion);
        Assert.Equal(LockKind.CondaExplicit, outcome.Lock!.Kind);
        Assert.Equal(Data("conda-explicit.txt"), File.ReadAllText(Path.Combine(dir, "conda-explicit.txt")));
        Assert.Equal(4, CondaFormats.ExplicitUrls(outcome.Lock.Text).Count);
        Assert.Equal(["numpy>=1.26", "requests[socks]>=2.31"], outcome.Dependencies!);
    }

    private static readonly PackageIndex JobIndex = new()
    {
        IndexUrl = "https://pypi.internal/simple",
        ExtraIndexUrls = ["https://extra.internal/simple"],
        FindLinks = ["/srv/wheels", "file:///srv/more"],
        TrustedHosts = ["pypi.internal:8080"],
        NoIndex = true,
    };

    [Fact]
    public async Task UvAdd_JobPackageIndex_ReplacesRunnerIndexSettings()
    {
        var dir = Path.Combine(_context.Paths.Envs, "wf2_node1_v1");
        Directory.CreateDirectory(dir);
        Answer(spec =>
        {
            File.WriteAllText(Path.Combine(dir, "uv.lock"), Data("uv.lock"));
            File.WriteAllText(Path.Combine(dir, "pyproject.toml"), Data("pyproject.toml"));
            return Ok();
        });

        var outcome = await new UvBackend().ExecuteAsync(
            new AddPackagesJob { JobId = "j", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = dir, Backend = EnvironmentBackend.Uv, Packages = ["requests>=2.31"], PackageIndex = JobIndex },
            _context with { Index = JobIndex },
            CancellationToken.None);

        Assert.Equal(JobStatus.Succeeded, outcome.Status);
        Assert.Equal(
            ["uv", "add", "--project", dir, "--index-url", "https://pypi.internal/simple", "--extra-index-url", "https://extra.internal/simple",
                "--find-links", "/srv/wheels", "--find-links", "file:///srv/more", "--allow-insecure-host", "pypi.internal:8080", "--no-index", "requests>=2.31"],
            _calls[0].Argv);
        Assert.DoesNotContain("--default-index", _calls.SelectMany(c => c.Argv));
    }

    [Fact]
    public async Task CondaCreate_JobPackageIndex_PipPartGetsPipOptionsAndNoRunnerPipEnvironment()
    {
        var dir = Path.Combine(_context.Paths.Envs, "conda3");
        var prefix = Path.Combine(dir, "env");
        Answer(spec => spec.Argv switch
        {
            [_, "list", _, _, "--json"] => Ok(Data("conda-list.json")),
            [_, "list", _, _, "--explicit", "--md5"] => Ok(Data("conda-explicit.txt")),
            [_, "env", "export", ..] => Ok("name: null\ndependencies:\n  - python=3.11.9\n"),
            _ => Ok(),
        });

        var outcome = await new CondaBackend().ExecuteAsync(
            new CreateEnvironmentJob { JobId = "j", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = dir, Backend = EnvironmentBackend.Conda, PythonVersion = "3.11", Packages = ["requests[socks]>=2.31"], PackageIndex = JobIndex },
            _context with { Index = JobIndex },
            CancellationToken.None);

        Assert.Equal(JobStatus.Succeeded, outcome.Status);
        var pip = _calls.Single(c => c.Argv.Contains("pip") && c.Argv.Contains("install"));
        Assert.Equal(
            [Path.Combine(prefix, "bin", "python"), "-m", "pip", "install", "--index-url", "https://pypi.internal/simple", "--extra-index-url", "https://extra.internal/simple",
                "--find-links", "/srv/wheels", "--find-links", "file:///srv/more", "--trusted-host", "pypi.internal:8080", "--no-index", "requests[socks]>=2.31"],
            pip.Argv);

        // The runner's PIP_* settings are removed from the process, not merely outvoted.
        foreach (var name in new[] { "PIP_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST" })
        {
            Assert.True(pip.Environment.TryGetValue(name, out var value) && value is null, name);
        }
    }

    [Fact]
    public async Task CondaRemove_PipPackageThroughPipCondaPackageThroughMicromamba()
    {
        var dir = Path.Combine(_context.Paths.Envs, "conda2");
        Directory.CreateDirectory(dir);
        var prefix = Path.Combine(dir, "env");
        Answer(spec => spec.Argv switch
        {
            [_, "list", _, _, "--json"] => Ok(Data("conda-list.json")),
            [_, "list", _, _, "--explicit", "--md5"] => Ok(Data("conda-explicit.txt")),
            _ => Ok(),
        });

        var outcome = await new CondaBackend().ExecuteAsync(
            new RemovePackagesJob { JobId = "j", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = dir, Backend = EnvironmentBackend.Conda, Packages = ["numpy", "requests", "absent"] },
            _context,
            CancellationToken.None);

        Assert.Equal([Micromamba, "remove", "-y", "-p", prefix, "numpy"], _calls[1].Argv);
        Assert.Equal([Path.Combine(prefix, "bin", "python"), "-m", "pip", "uninstall", "-y", "requests"], _calls[2].Argv);
        Assert.Equal("absent", Assert.Single(outcome.FailedPackages).Package);
    }

    [Fact]
    public void Formats_RealOutputs_Parsed()
    {
        Assert.Equal(1, UvFormats.LockVersion(Data("uv.lock")));
        Assert.Equal(["3.12.1", "3.11.7"], UvFormats.ParsePythonList("""[{"key":"cpython-3.12.1-linux-x86_64-gnu","version":"3.12.1","path":"/usr/bin/python3.12","symlink":null,"url":null,"os":"linux","variant":"default","implementation":"cpython","arch":"x86_64","libc":"gnu"},{"key":"cpython-3.11.7-linux-x86_64-gnu","version":"3.11.7","path":null,"url":"https://example/cpython.tar.gz","os":"linux","variant":"default","implementation":"cpython","arch":"x86_64","libc":"gnu"}]"""));
        Assert.Equal(["3.12.4", "3.11.9"], CondaFormats.ParseSearchVersions("""{"result":{"msg":"","pkgs":[{"name":"python","version":"3.12.4","build":"h194c7f8_0_cpython"},{"name":"python","version":"3.11.9","build":"hb806964_0_cpython"}],"status":"OK"},"query":{"query":"python","type":"search"}}"""));
        Assert.Equal(["3.12.4"], CondaFormats.ParseSearchVersions("""{"python":[{"name":"python","version":"3.12.4","build":"h194c7f8_0_cpython","channel":"conda-forge"}]}"""));
        Assert.Equal(5, CondaFormats.ParseList(Data("conda-list.json")).Count);
        Assert.Equal(["beta==9.9"], PipFormats.UnsatisfiedRequirements("ERROR: Could not find a version that satisfies the requirement beta==9.9 (from versions: 1.0.0, 2.0.0)\nERROR: No matching distribution found for beta==9.9\n"));
    }

    public void Dispose() => _share.Dispose();
}
