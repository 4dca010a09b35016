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
        var (prefix, port, settings) = Settings();
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

    [Fact]
    public async Task KillHost_WhileADelayedTaskWaitsOnItsTimer_RunsOnTimeAfterRestart()
    {
        var (prefix, port, settings) = Settings();
        using var http = Client(port);
        var host = Start("EnvFabric.Functions.dll", settings);
        Start("EnvFabric.Runner.dll", settings);
        await WaitReadyAsync(http, prefix);
        await CreateEnvironmentAsync(http, "waiting");

        var created = DateTimeOffset.UtcNow;
        var id = await CreateTaskAsync(http, "print('ran after the restart')\n", new() { ["conda_env"] = "waiting", ["task_name"] = "delayed", ["delay_seconds"] = "12" });
        Kill(host);
        Start("EnvFabric.Functions.dll", settings);

        var execution = await WaitForExecutionAsync(http, id, e => e["status"]!.GetValue<string>() == "completed", TimeSpan.FromSeconds(240));
        Assert.Equal("delay", execution["trigger"]!.GetValue<string>());

        // Seconds resolution in the API: the run started no earlier than the second it was due in.
        var due = created.AddSeconds(12);
        var start = DateTimeOffset.Parse(execution["start_time"]!.GetValue<string>() + "Z", System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(start >= due.AddSeconds(-1), $"started {start:O}, due {due:O}");
    }

    [Fact]
    public async Task KillHost_WhileARunWaitsOnItsRunnerJob_RunIsRecordedAfterRestart()
    {
        var (prefix, port, settings) = Settings();
        using var http = Client(port);
        var host = Start("EnvFabric.Functions.dll", settings);
        Start("EnvFabric.Runner.dll", settings);
        await WaitReadyAsync(http, prefix);
        await CreateEnvironmentAsync(http, "steady");

        const string script = "import time\nopen('started', 'w').close()\ntime.sleep(8)\nprint('finished while the host was away')\n";
        var id = await CreateTaskAsync(http, script, new() { ["conda_env"] = "steady", ["task_name"] = "steady" });
        var marker = Path.Combine(_share.Path, "scripts", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "started");
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(() => Task.FromResult(File.Exists(marker)), TimeSpan.FromSeconds(120)), "the run did not start");

        Kill(host);
        Start("EnvFabric.Functions.dll", settings);
        var execution = await WaitForExecutionAsync(http, id, e => e["status"]!.GetValue<string>() is "completed" or "failed" or "abnormal", TimeSpan.FromSeconds(240));
        Assert.Equal("completed", execution["status"]!.GetValue<string>());
        Assert.Equal(1, execution["attempt"]!.GetValue<int>());
    }

    [Fact]
    public async Task KillRunner_MidRun_ExecutionTurnsAbnormalAndTheRetryRunsOnANewRunner()
    {
        var (prefix, port, settings) = Settings();
        using var http = Client(port);
        Start("EnvFabric.Functions.dll", settings);
        var runner = Start("EnvFabric.Runner.dll", settings);
        await WaitReadyAsync(http, prefix);
        await CreateEnvironmentAsync(http, "fragile");

        // The first attempt leaves a marker and hangs; the retry finds the marker and succeeds.
        const string script = "import os, time\nif os.path.exists('attempted'):\n    print('second attempt')\nelse:\n    open('attempted', 'w').close()\n    print('first attempt', flush=True)\n    time.sleep(600)\n";
        var id = await CreateTaskAsync(http, script, new() { ["conda_env"] = "fragile", ["task_name"] = "fragile", ["max_retries"] = "1", ["retry_interval_seconds"] = "1" });
        var marker = Path.Combine(_share.Path, "scripts", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "attempted");
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(() => Task.FromResult(File.Exists(marker)), TimeSpan.FromSeconds(120)), "the first attempt did not start");

        Kill(runner);
        KillScripts(id);
        var stopwatch = Stopwatch.StartNew();
        var abnormal = await WaitForExecutionAsync(http, id, e => e["status"]!.GetValue<string>() == "abnormal", TimeSpan.FromSeconds(120));
        Console.WriteLine($"runner kill: execution abnormal {stopwatch.Elapsed.TotalSeconds:0.0} s after the kill");
        Assert.Contains("heartbeat", abnormal["error"]!.GetValue<string>(), StringComparison.Ordinal);

        Start("EnvFabric.Runner.dll", settings);
        var retried = await WaitForExecutionAsync(http, id, e => e["trigger"]!.GetValue<string>() == "retry" && e["status"]!.GetValue<string>() == "completed", TimeSpan.FromSeconds(240));
        Assert.Equal(2, retried["attempt"]!.GetValue<int>());
    }

    private static HttpClient Client(int port)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("x-functions-key", Key);
        return http;
    }

    private static async Task CreateEnvironmentAsync(HttpClient http, string name)
    {
        using var created = await http.PostAsJsonAsync("/api/conda/environment", new { name, python_version = "3.11", packages = Array.Empty<string>() });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    private static async Task<long> CreateTaskAsync(HttpClient http, string script, Dictionary<string, string> fields)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(script)), "script_file", "main.py");
        foreach (var (key, value) in fields)
        {
            form.Add(new StringContent(value), key);
        }

        using var response = await http.PostAsync(new Uri("/api/tasks", UriKind.Relative), form);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(response.StatusCode == HttpStatusCode.Created, body?.ToJsonString());
        return body!["task"]!["task_id"]!.GetValue<long>();
    }

    /// <summary>Polls the task until one of its executions matches (across host restarts: connection errors are retried).</summary>
    private static async Task<JsonNode> WaitForExecutionAsync(HttpClient http, long id, Func<JsonNode, bool> match, TimeSpan bound)
    {
        JsonNode? found = null;
        JsonNode? last = null;
        var ok = await EnvironmentHostForTests.EventuallyAsync(
            async () =>
            {
                try
                {
                    using var response = await http.GetAsync(new Uri($"/api/tasks/{id}", UriKind.Relative));
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        return false;
                    }

                    last = JsonNode.Parse(await response.Content.ReadAsStringAsync());
                    found = last!["execution_history"]!.AsArray().FirstOrDefault(e => match(e!));
                    return found is not null;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    return false;
                }
            },
            bound);
        Assert.True(ok, $"no matching execution of task {id} within {bound.TotalSeconds} s: {last?.ToJsonString()}");
        return found!;
    }

    /// <summary>A killed runner leaves its script running (it leads its own session); a dead machine would not.</summary>
    private void KillScripts(long id)
    {
        var directory = Path.Combine(_share.Path, "scripts", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var proc in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out var pid))
            {
                continue;
            }

            try
            {
                if (File.ResolveLinkTarget(Path.Combine(proc, "cwd"), returnFinalTarget: false)?.FullName == directory)
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone meanwhile, or not ours.
            }
        }
    }

    private (string Prefix, int Port, Dictionary<string, string> Settings) Settings()
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
        return (prefix, port, settings);
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
