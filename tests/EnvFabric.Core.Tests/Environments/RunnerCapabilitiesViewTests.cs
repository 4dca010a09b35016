using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace EnvFabric.Core.Tests.Environments;

public sealed class RunnerCapabilitiesViewTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-03-01T12:00:00Z"));

    private RunnerCapabilitiesView View(string backend, params RunnerInfo[] runners)
    {
        var registry = new Mock<IRunnerRegistry>();
        registry.Setup(r => r.GetRunnersAsync(It.IsAny<CancellationToken>())).ReturnsAsync(runners);
        return new RunnerCapabilitiesView(registry.Object, Options.Create(new EnvironmentsOptions { Backend = backend }), _time);
    }

    private RunnerInfo Runner(string id, EnvironmentBackend[] backends, Dictionary<string, IReadOnlyList<string>> versions, TimeSpan age) => new()
    {
        RunnerId = id,
        LastHeartbeat = _time.GetUtcNow() - age,
        Capabilities = new RunnerCapabilities { Backends = backends, PythonVersions = versions },
    };

    [Fact]
    public async Task DefaultBackendAsync_AutoWithUvRunner_IsUv()
    {
        var view = View("auto", Runner("r1", [EnvironmentBackend.Venv, EnvironmentBackend.Uv], [], TimeSpan.FromSeconds(1)));

        Assert.Equal(EnvironmentBackend.Uv, await view.DefaultBackendAsync());
    }

    [Fact]
    public async Task DefaultBackendAsync_AutoWithOnlyDeadUvRunner_IsVenv()
    {
        var view = View("auto", Runner("r1", [EnvironmentBackend.Uv], [], TimeSpan.FromMinutes(5)));

        Assert.Equal(EnvironmentBackend.Venv, await view.DefaultBackendAsync());
    }

    [Fact]
    public async Task DefaultBackendAsync_Configured_WinsOverRunners()
    {
        var view = View("conda", Runner("r1", [EnvironmentBackend.Uv], [], TimeSpan.Zero));

        Assert.Equal(EnvironmentBackend.Conda, await view.DefaultBackendAsync());
    }

    [Fact]
    public async Task PythonVersionsAsync_MergesRunnersAsMajorMinorSortedWithSource()
    {
        var view = View(
            "venv",
            Runner("r1", [EnvironmentBackend.Venv], new() { ["venv"] = ["3.11.7", "3.9.18"] }, TimeSpan.Zero),
            Runner("r2", [EnvironmentBackend.Venv], new() { ["venv"] = ["3.12.1", "3.11.9", "3.10"] }, TimeSpan.Zero));

        var (versions, source) = await view.PythonVersionsAsync();

        Assert.Equal(["3.9", "3.10", "3.11", "3.12"], versions);
        Assert.Equal("venv", source);
    }

    [Fact]
    public async Task PythonVersionsAsync_NoLiveRunner_IsFallback()
    {
        var view = View("auto", Runner("r1", [EnvironmentBackend.Venv], new() { ["venv"] = ["3.11.7"] }, TimeSpan.FromHours(1)));

        var (versions, source) = await view.PythonVersionsAsync();

        Assert.Null(source);
        Assert.Equal(RunnerCapabilitiesView.FallbackVersions, versions);
    }

    [Theory]
    [InlineData("3.11.7", "3.11")]
    [InlineData("3.9", "3.9")]
    [InlineData("3", null)]
    [InlineData("abc", null)]
    [InlineData(null, null)]
    public void MajorMinor_Versions(string? version, string? expected)
    {
        Assert.Equal(expected, RunnerCapabilitiesView.MajorMinor(version));
    }

    [Fact]
    public async Task RunnersByVersionAsync_LiveRunners_ByMajorMinorOfAnyBackend()
    {
        var view = View(
            "auto",
            Runner("r2", [EnvironmentBackend.Venv], new() { ["venv"] = ["3.11.7", "3.12.1"] }, TimeSpan.FromSeconds(1)),
            Runner("r1", [EnvironmentBackend.Uv], new() { ["uv"] = ["3.12.4", "3.13.0"], ["venv"] = ["3.11.2"] }, TimeSpan.FromSeconds(2)),
            Runner("dead", [EnvironmentBackend.Venv], new() { ["venv"] = ["3.10.1"] }, TimeSpan.FromMinutes(5)));

        var byVersion = await view.RunnersByVersionAsync();

        Assert.Equal(["3.11", "3.12", "3.13"], byVersion.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["r1", "r2"], byVersion["3.11"]);
        Assert.Equal(["r1", "r2"], byVersion["3.12"]);
        Assert.Equal(["r1"], byVersion["3.13"]);
    }
}
