using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using EnvFabric.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>
/// One environment test host: the functions host in memory (FunctionsFactory) on Azurite with its own share,
/// storage prefix and hub, plus the real runner as a child process (venv backend, PIP_NO_INDEX with a
/// wheelhouse the tests build; a test that sets PIP_NO_INDEX and PIP_FIND_LINKS to null starts a runner
/// without them). The share, prefix and hub survive a host restart.
/// </summary>
public sealed class EnvironmentHostForTests : IAsyncDisposable
{
    /// <summary>The wheels every environment test can install: alpha, beta (needs alpha), gamma, delta.</summary>
    public static readonly WheelSpec[] Wheels =
    [
        new("alpha", "1.0"),
        new("alpha", "1.1"),
        new("beta", "2.0", "alpha>=1.0"),
        new("gamma", "0.3"),
        new("delta-utils", "1.5"),
    ];

    private static readonly Lazy<string> LazyWheelhouse = new(() =>
    {
        var directory = Path.Combine(Path.GetTempPath(), "envfabric-wheelhouse-" + Environment.ProcessId);
        Wheelhouse.Create(directory, Wheels);

        // One wheelhouse per test process, removed when the process ends.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return directory;
    });

    private readonly AzuriteFixture _azurite;
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;
    private Process? _runner;

    private EnvironmentHostForTests(AzuriteFixture azurite, IDictionary<string, string?>? settings, Action<IServiceCollection>? services)
    {
        _azurite = azurite;
        _services = services;
        Share = new TempDirectory("envfabric-envs");
        Prefix = AzuriteFixture.UniqueName("e");
        HubName = "hub" + AzuriteFixture.UniqueName("h");
        _settings = new Dictionary<string, string?>
        {
            ["DATA_ROOT"] = Share.Path,
            ["ENVFABRIC_STORAGE_PREFIX"] = Prefix,
            ["AzureFunctionsJobHost:extensions:durableTask:hubName"] = HubName,
            ["AzureFunctionsJobHost:extensions:http:rateLimit:requestsPerMinute"] = "0",
            ["PIP_NO_INDEX"] = "true",
            ["PIP_FIND_LINKS"] = WheelhouseDirectory,
            ["ENV_BACKEND"] = "venv",
            ["DEFAULT_PYTHON"] = "3.11",
            ["RUNNER_STALE_SECONDS"] = "6",
            ["CLEANUP_IDLE_HOURS"] = "0",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public static string WheelhouseDirectory => LazyWheelhouse.Value;

    public TempDirectory Share { get; }

    public string Prefix { get; }

    public string HubName { get; }

    public FunctionsFactory Factory { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    /// <summary>The running application: <see cref="Factory"/>, or a derivation of it with test services.</summary>
    public Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> App { get; private set; } = null!;

    public IServiceProvider Services => App.Services;

    public string ConnectionString => _azurite.ConnectionString;

    public static async Task<EnvironmentHostForTests> StartAsync(
        AzuriteFixture azurite, IDictionary<string, string?>? settings = null, bool runner = true, Action<IServiceCollection>? services = null)
    {
        var host = new EnvironmentHostForTests(azurite, settings, services);
        host.StartHost();
        if (runner)
        {
            await host.StartRunnerAsync();
        }

        return host;
    }

    /// <summary>Starts (or restarts) the functions host on the same share, prefix and hub.</summary>
    public void StartHost()
    {
        Factory = new FunctionsFactory(_azurite, _settings);
        App = _services is null ? Factory : Factory.WithWebHostBuilder(b => b.ConfigureTestServices(_services));
        Client = CreateKeyedClient(App);
        Client.Timeout = TimeSpan.FromMinutes(5);
    }

    private static HttpClient CreateKeyedClient(Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> factory)
    {
        var client = factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Add("x-functions-key", FunctionsFactory.MasterKey);
        return client;
    }

    /// <summary>Stops the functions host without touching the runner or the share.</summary>
    public async Task StopHostAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
        await Factory.DisposeAsync();
    }

    /// <summary>Starts the runner as a child process with the host's storage, prefix, hub and share.</summary>
    public async Task StartRunnerAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Share.Path,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EnvFabric.Runner.dll"));
        start.Environment["AzureWebJobsStorage"] = _azurite.ConnectionString;
        start.Environment["AzureFunctionsJobHost__extensions__durableTask__hubName"] = HubName;
        start.Environment["RUNNER_ID"] = "r" + Prefix;
        start.Environment["RUNNER_JOB_HEARTBEAT_SECONDS"] = "1";
        start.Environment["RUNNER_HEARTBEAT_SECONDS"] = "1";
        foreach (var key in new[] { "DATA_ROOT", "ENVFABRIC_STORAGE_PREFIX", "PIP_NO_INDEX", "PIP_FIND_LINKS", "PIP_INDEX_URL", "DEFAULT_PYTHON", "VENV_WITH_PIP", "PATH" })
        {
            // A setting given as null (a test without the runner's wheelhouse index) is not passed at all, nor inherited.
            if (_settings.TryGetValue(key, out var value))
            {
                if (value is null)
                {
                    start.Environment.Remove(key);
                }
                else
                {
                    start.Environment[key] = value;
                }
            }
        }

        _runner = Process.Start(start) ?? throw new InvalidOperationException("the runner did not start");
        _runner.OutputDataReceived += (_, e) => RunnerOutput.Add(e.Data ?? "");
        _runner.ErrorDataReceived += (_, e) => RunnerOutput.Add(e.Data ?? "");
        _runner.BeginOutputReadLine();
        _runner.BeginErrorReadLine();

        // Ready once it has published itself (capabilities) in the runners table.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var runners = new Azure.Data.Tables.TableServiceClient(_azurite.ConnectionString).GetTableClient(Prefix + "Runners");
        while (true)
        {
            if (_runner.HasExited)
            {
                throw new InvalidOperationException("the runner exited: " + string.Join('\n', RunnerOutput));
            }

            try
            {
                await foreach (var _ in runners.QueryAsync<Azure.Data.Tables.TableEntity>(maxPerPage: 1))
                {
                    return;
                }
            }
            catch (Azure.RequestFailedException)
            {
                // Table not created yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the runner did not register within 60 s: " + string.Join('\n', RunnerOutput));
            }

            await Task.Delay(200);
        }
    }

    public System.Collections.Concurrent.ConcurrentBag<string> RunnerOutput { get; } = [];

    /// <summary>Kills the runner process tree at once (SIGKILL), as a crashed container would die.</summary>
    public void KillRunner()
    {
        if (_runner is { HasExited: false })
        {
            _runner.Kill(entireProcessTree: true);
            _runner.WaitForExit(10_000);
        }
    }

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> SendAsync(HttpMethod method, string url, object? json = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (json is not null)
        {
            request.Content = JsonContent.Create(json);
        }

        var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? body = null;
        try
        {
            body = text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            body = JsonValue.Create(text);
        }

        return (response, body);
    }

    /// <summary>Creates an environment through seed 000 and asserts it was created.</summary>
    public async Task<JsonNode> CreateCondaAsync(string name, params string[] packages)
    {
        var (response, body) = await SendAsync(HttpMethod.Post, "/api/conda/environment", new { name, python_version = "3.11", packages });
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"create {name}: {(int)response.StatusCode} {body?.ToJsonString()} runner: {string.Join('\n', RunnerOutput.TakeLast(30))}");
        return body!;
    }

    /// <summary>Polls until <paramref name="condition"/> holds or the time runs out.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(250);
        }

        return await condition();
    }

    public async ValueTask DisposeAsync()
    {
        KillRunner();
        _runner?.Dispose();
        Client.Dispose();
        await App.DisposeAsync();
        await Factory.DisposeAsync();
        Share.Dispose();
    }
}
