using EnvFabric.Core.Configuration;
using EnvFabric.Core.Runner;
using EnvFabric.Runner.Backends;
using EnvFabric.Runner.Processes;
using EnvFabric.Testing;
using Moq;

namespace EnvFabric.Runner.Tests;

/// <summary>
/// The interpreter install (python.install) through the argv each tool gets: uv and conda are not installed here,
/// so the process port is mocked, as in <see cref="BackendArgvTests"/>.
/// </summary>
public sealed class PythonInstallerTests : IDisposable
{
    private const string Micromamba = "/opt/conda/bin/micromamba";
    private readonly TempDirectory _share = new("envfabric-python");
    private readonly Mock<IProcessRunner> _processes = new(MockBehavior.Strict);
    private readonly List<ProcessSpec> _calls = [];

    public void Dispose() => _share.Dispose();

    private BackendContext Context(RunnerCapabilities capabilities)
    {
        var settings = new EnvFabricOptions { DataRoot = _share.Path };
        return new BackendContext(_processes.Object, _ => { }, capabilities, settings, new DataPaths(settings, _share.Path), new RunnerOptions());
    }

    private static RunnerCapabilities With(bool uv, bool conda) => new()
    {
        Tools = uv ? [new RunnerTool("uv", "/usr/local/bin/uv", "uv 0.5.0")] : [],
        CondaTool = conda ? Micromamba : null,
    };

    private PythonInstallJob Job(BackendContext context, string version = "3.12", string tool = "uv") => new()
    {
        JobId = "p",
        InstanceId = "",
        LogBlobName = "l",
        EnvironmentDirectory = context.Paths.Python,
        PythonVersion = version,
        Tool = tool,
    };

    private void Answer(int exitCode, string stderr = "") =>
        _processes.Setup(p => p.RunAsync(It.IsAny<ProcessSpec>(), It.IsAny<CancellationToken>()))
            .Returns((ProcessSpec spec, CancellationToken _) =>
            {
                _calls.Add(spec);
                return Task.FromResult(new ProcessOutcome { ExitCode = exitCode, Stderr = stderr });
            });

    [Fact]
    public async Task InstallUv_RunsUvPythonInstallWithTheShareAsInstallDir()
    {
        var context = Context(With(uv: true, conda: true));
        Answer(0);

        var outcome = await PythonInstaller.InstallAsync(Job(context), context, CancellationToken.None);

        Assert.Equal(JobStatus.Succeeded, outcome.Status);
        Assert.Equal("3.12", outcome.PythonVersion);
        var call = Assert.Single(_calls);
        Assert.Equal(["uv", "python", "install", "3.12"], call.Argv);
        Assert.Equal(Path.Combine(_share.Path, "python"), call.Environment["UV_PYTHON_INSTALL_DIR"]);
        Assert.Equal(context.Paths.UvCache, call.Environment["UV_CACHE_DIR"]);
        Assert.True(Directory.Exists(context.Paths.Python));
    }

    [Fact]
    public async Task InstallConda_CreatesAPrefixUnderTheShare()
    {
        var context = Context(With(uv: false, conda: true));
        Answer(0);

        var outcome = await PythonInstaller.InstallAsync(Job(context, "3.11.9"), context, CancellationToken.None);

        Assert.Equal(JobStatus.Succeeded, outcome.Status);
        var call = Assert.Single(_calls);
        Assert.Equal([Micromamba, "create", "-y", "-p", Path.Combine(_share.Path, "python", "conda-3.11.9"), "python=3.11.9"], call.Argv);
        Assert.Equal(Path.Combine(_share.Path, "conda"), call.Environment["MAMBA_ROOT_PREFIX"]);
    }

    [Fact]
    public async Task InstallConda_AskedForAndPresent_WinsOverUv_AndAnExistingPrefixIsKept()
    {
        var context = Context(With(uv: true, conda: true));
        var bin = Path.Combine(PythonInstaller.CondaPrefix(context.Paths.Python, "3.10"), "bin");
        Directory.CreateDirectory(bin);
        File.WriteAllText(Path.Combine(bin, "python3"), "");

        var outcome = await PythonInstaller.InstallAsync(Job(context, "3.10", tool: "conda"), context, CancellationToken.None);

        Assert.Equal(JobStatus.Succeeded, outcome.Status);
        Assert.Equal(["already installed"], outcome.Warnings);
        Assert.Empty(_calls);
        Assert.Equal("uv", PythonInstaller.ChooseTool(Job(context, tool: "conda"), With(uv: true, conda: false)));
        Assert.Equal("conda", PythonInstaller.ChooseTool(Job(context, tool: "uv"), With(uv: false, conda: true)));
        Assert.Null(PythonInstaller.ChooseTool(Job(context), With(uv: false, conda: false)));
    }

    [Fact]
    public async Task Install_ToolFails_FailsWithItsError()
    {
        var context = Context(With(uv: true, conda: false));
        Answer(2, "error: No download found for request: cpython-3.99-linux-x86_64-gnu");

        var outcome = await PythonInstaller.InstallAsync(Job(context, "3.99"), context, CancellationToken.None);

        Assert.Equal(JobStatus.Failed, outcome.Status);
        Assert.StartsWith("uv python install failed", outcome.Error, StringComparison.Ordinal);
        Assert.Contains("No download found", outcome.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("3.12 ; rm -rf /")]
    [InlineData("--help")]
    [InlineData("3")]
    public async Task Install_BadVersionOrNoTool_RunsNothing(string version)
    {
        var context = Context(With(uv: true, conda: true));

        var invalid = await PythonInstaller.InstallAsync(Job(context, version), context, CancellationToken.None);
        var noTool = await PythonInstaller.InstallAsync(Job(Context(With(false, false))), Context(With(false, false)), CancellationToken.None);

        Assert.Equal(JobStatus.Rejected, invalid.Status);
        Assert.Equal(JobStatus.Failed, noTool.Status);
        Assert.Contains("neither uv nor conda", noTool.Error, StringComparison.Ordinal);
        Assert.Empty(_calls);
    }
}
