using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

/// <summary>
/// The host and the runner as real processes, killed with SIGKILL in the middle of an environment build and
/// started again: the build finishes and the environment works. Recovery rests on the durable engine's
/// queue visibility timeouts (30 s) and on a restarted runner taking over the job whose runner died.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class KillRecoveryTests(AzuriteFixture azurite) : IDisposable
{
    private const string Key = "kill-test-master-key-0123456789";
    private readonly TempDirectory _share = new("envfabric-kill");
    private readonly List<Process> _processes = [];

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            Kill(process);
            process.Dispose();
        }

        _share.Dispose();
    }

    [Fact]
    public async Task KillHostAndRunner_RightAfterCreateAccepted_BuildCompletesAfterRestart()
    {
        var prefix = AzuriteFixture.UniqueName("k");
        var port = AzuriteFixture.FreePort();
        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["DATA_ROOT"] = _share.Path,
            ["ENVFABRIC_STORAGE_PREFIX"] = prefix,
            ["AzureFunctionsJobHost__extensions__durableTask__hubName"] = "hub" + AzuriteFixture.UniqueName("k"),
            ["AzureFunctionsJobHost__extensions__http__rateLimit__requestsPerMinute"] = "0",
            ["FUNCTIONS_MASTER_KEY"] = Key,
            ["PIP_NO_INDEX"] = "true",
            ["PIP_FIND_LINKS"] = EnvironmentHostForTests.WheelhouseDirectory,
            ["ENV_BACKEND"] = "venv",
            ["DEFAULT_PYTHON"] = "3.11",
            ["CLEANUP_IDLE_HOURS"] = "0",
            ["RUNNER_ID"] = "r" + prefix,
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("x-functions-key", Key);

        var host = Start("EnvFabric.Functions.dll", settings);
        var runner = Start("EnvFabric.Runner.dll", settings);
        await WaitReadyAsync(http, prefix);

        using var accepted = await http.PostAsJsonAsync("/api/conda/environment?wait=0", new { name = "survivor", python_version = "3.11", packages = new[] { "beta" } });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Kill(host);
        Kill(runner);

        var restarted = Stopwatch.StartNew();
        Start("EnvFabric.Functions.dll", settings);
        Start("EnvFabric.Runner.dll", settings);
        JsonNode? detail = null;
        Assert.True(
            await EnvironmentHostForTests.EventuallyAsync(
                async () =>
                {
                    try
                    {
                        using var response = await http.GetAsync(new Uri("/api/conda/environment/survivor", UriKind.Relative));
                        detail = response.StatusCode == HttpStatusCode.OK ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
                        return detail?["status"]?.GetValue<string>() is "ready" or "failed";
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        return false;
                    }
                },
                TimeSpan.FromSeconds(240)),
            $"the build did not finish within 240 s of the restart: {detail?.ToJsonString()}");
        Assert.Equal("ready", detail!["status"]!.GetValue<string>());
        Assert.Contains(detail["packages"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "beta");
        Console.WriteLine($"kill recovery: environment ready {restarted.Elapsed.TotalSeconds:0.0} s after the restart");

        // Usable: the environment's own interpreter imports what was installed.
        var python = Path.Combine(_share.Path, "envs", "survivor", ".venv", "bin", "python");
        using var check = Process.Start(new ProcessStartInfo(python, ["-c", "import beta, alpha"]) { UseShellExecute = false })!;
        await check.WaitForExitAsync();
        Assert.Equal(0, check.ExitCode);
    }

    private Process Start(string dll, Dictionary<string, string> settings)
    {
        var process = DotnetProcess.Start(dll, settings, _share.Path);
        _processes.Add(process);
        return process;
    }

    private static void Kill(Process process) => DotnetProcess.Kill(process);

    private async Task WaitReadyAsync(HttpClient http, string prefix)
    {
        var runners = new TableClient(azurite.ConnectionString, prefix + "Runners");
        Assert.True(
            await EnvironmentHostForTests.EventuallyAsync(
                async () =>
                {
                    try
                    {
                        using var response = await http.GetAsync(new Uri("/api/conda/environments", UriKind.Relative));
                        await foreach (var _ in runners.QueryAsync<TableEntity>(maxPerPage: 1))
                        {
                            return response.StatusCode == HttpStatusCode.OK;
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or Azure.RequestFailedException)
                    {
                    }

                    return false;
                },
                TimeSpan.FromSeconds(120)),
            "the host and the runner were not ready within 120 s");
    }
}
