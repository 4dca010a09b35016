using EnvFabric.Testing;

namespace EnvFabric.Runner.Tests;

[CollectionDefinition(Name)]
public sealed class RunnerCollection : ICollectionFixture<RunnerFixture>
{
    public const string Name = "Runner";
}

/// <summary>
/// One Azurite, one shared runner (in-process, real queue, tables, blobs and processes), a wheelhouse and a
/// small venv without pip for script jobs. Tests that need other settings start their own runner on the same
/// Azurite with <see cref="RunnerHarness.StartAsync"/>.
/// </summary>
public sealed class RunnerFixture : IAsyncLifetime
{
    private readonly AzuriteFixture _azurite = new();

    public AzuriteFixture Azurite => _azurite;

    public RunnerHarness Runner { get; private set; } = null!;

    public TempDirectory Wheels { get; } = new("envfabric-wheels");

    /// <summary>The environment directory of a venv script jobs run in.</summary>
    public string ScriptEnvironment { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await _azurite.InitializeAsync();
        Wheelhouse.Create(
            Wheels.Path,
            new WheelSpec("alpha", "1.0.0", "beta>=1.0"),
            new WheelSpec("beta", "1.0.0"),
            new WheelSpec("beta", "2.0.0"),
            new WheelSpec("gamma-tools", "0.3.1"));
        Runner = await RunnerHarness.StartAsync(_azurite, new Dictionary<string, string?> { ["PIP_FIND_LINKS"] = Wheels.Path, ["PIP_NO_INDEX"] = "true" });
        ScriptEnvironment = Path.Combine(Runner.Paths.Envs, "scripts-env");
        var venv = await RunnerHarness.RunToolAsync("python3", "-m", "venv", "--without-pip", Path.Combine(ScriptEnvironment, ".venv"));
        Assert.True(venv == 0, "python3 -m venv failed");
    }

    public async Task DisposeAsync()
    {
        await Runner.DisposeAsync();
        Wheels.Dispose();
        await _azurite.DisposeAsync();
    }
}
