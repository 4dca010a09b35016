using System.Diagnostics;
using System.Net.Sockets;
using EnvFabric.Core.Configuration;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

/// <summary>
/// Settings over the real start-up path: the host and the runner started as processes (as ./run starts them) with
/// the setting in their environment.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class SettingsStartupTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan ExitWithin = TimeSpan.FromMinutes(2);

    [Theory]
    [InlineData("PIP_NO_INDEX", "2", "Setting PIP_NO_INDEX: '2' is not a boolean (use 1/0, true/false, yes/no, on/off)")]
    [InlineData("ENV_ALLOW_DIRECT_URLS", "maybe", "Setting ENV_ALLOW_DIRECT_URLS: 'maybe' is not a boolean (use 1/0, true/false, yes/no, on/off)")]
    [InlineData("EXECUTION_TIMEOUT", "soon", "Setting EXECUTION_TIMEOUT: 'soon' is not a whole number")]
    [InlineData("EXECUTION_TIMEOUT", "0", "Setting EXECUTION_TIMEOUT: '0' is out of range (use 1 to 86400)")]
    [InlineData("AzureFunctionsJobHost__extensions__durableTask__extendedSessionsEnabled", "sometimes", "host.json: extensions.durableTask.extendedSessionsEnabled: 'sometimes' is not a boolean (use 1/0, true/false, yes/no, on/off)")]
    [InlineData("AzureFunctionsJobHost__functionTimeout", "later", "host.json: functionTimeout: 'later' is not a time span (use hh:mm:ss)")]
    [InlineData("AzureFunctionsJobHost__extensions__durableTask__storageProvider__partitionCount", "0", "host.json: extensions.durableTask.storageProvider.partitionCount must be between 1 and 16 (was 0)")]
    [InlineData("PROJECT_MAX_EDIT_KB", "0", "Setting PROJECT_MAX_EDIT_KB: '0' is out of range (use 1 to 65536)")]
    [InlineData("CONSISTENCY_GRACE_SECONDS", "-5", "Setting CONSISTENCY_GRACE_SECONDS: '-5' is out of range (use 0 to 86400)")]
    [InlineData("CONSISTENCY_GRACE_SECONDS", "soon", "Setting CONSISTENCY_GRACE_SECONDS: 'soon' is not a whole number")]
    [InlineData("SYSTEM_SAMPLE_SECONDS", "often", "Setting SYSTEM_SAMPLE_SECONDS: 'often' is not a whole number")]
    [InlineData("SYSTEM_SAMPLE_SECONDS", "0", "Setting SYSTEM_SAMPLE_SECONDS: '0' is out of range (use 1 to 3600)")]
    [InlineData("PORT", "http", "Setting PORT: 'http' is not a whole number")]
    [InlineData("PORT", "70000", "Setting PORT: '70000' is out of range (use 1 to 65535)")]
    [InlineData("AzureWebJobsStorage", "not a connection string", "Setting AzureWebJobsStorage: the value is not a storage connection string (use \"UseDevelopmentStorage=true\" for Azurite, or DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...)")]
    [InlineData("BACKUP_MAX_MB", "0", "Setting BACKUP_MAX_MB: '0' is out of range (use 1 to 1048576)")]
    [InlineData("BACKUP_CONSISTENCY_ATTEMPTS", "many", "Setting BACKUP_CONSISTENCY_ATTEMPTS: 'many' is not a whole number")]
    [InlineData("BACKUP_EXCLUDE_TABLES", "Samples,runners", "Setting BACKUP_EXCLUDE_TABLES: 'runners' is not a table name without prefix (letters and digits, starting with a capital, e.g. SystemSamples)")]
    [InlineData("FUNCTIONS_MASTER_KEY", "short", "Setting FUNCTIONS_MASTER_KEY: a value of 5 characters is too short (use at least 16, or leave it empty to generate one)")]
    [InlineData("TASK_HISTORY_DAYS", "0", "Setting TASK_HISTORY_DAYS: '0' is out of range (use 1 to 3650)")]
    [InlineData("CALLBACK_MAX_ATTEMPTS", "0", "Setting CALLBACK_MAX_ATTEMPTS: '0' is out of range (use 1 to 50)")]
    [InlineData("CALLBACK_ALLOW_PRIVATE", "perhaps", "Setting CALLBACK_ALLOW_PRIVATE: 'perhaps' is not a boolean (use 1/0, true/false, yes/no, on/off)")]
    [InlineData("SLA_CHECK_SECONDS", "-1", "Setting SLA_CHECK_SECONDS: '-1' is out of range (use 0 to 86400)")]
    [InlineData("SLA_CHECK_SECONDS", "often", "Setting SLA_CHECK_SECONDS: 'often' is not a whole number")]
    public async Task Host_WrongSetting_StopsWithOneLineNamingIt(string setting, string value, string expected)
    {
        using var data = new TempDirectory("envfabric-settings");

        var (exitCode, stdout, stderr) = await RunToExitAsync(HostStart(data.Path, (setting, value)));

        AssertOneLine(expected, exitCode, stdout, stderr);
    }

    [Theory]
    [InlineData("PIP_NO_INDEX", "2", "Setting PIP_NO_INDEX: '2' is not a boolean (use 1/0, true/false, yes/no, on/off)")]
    [InlineData("RUNNER_LOG_FLUSH_MS", "fast", "Setting RUNNER_LOG_FLUSH_MS: 'fast' is not a whole number")]
    [InlineData("RUNNER_POOL", "Gpu Pool", "Setting RUNNER_POOL: 'Gpu Pool' is not a pool name (use 1 to 32 lower-case letters, digits or '-', starting with a letter or digit, e.g. gpu)")]
    [InlineData("RUNNER_GPUS", "-1", "Setting RUNNER_GPUS: '-1' is out of range (use 0 to 1024)")]
    [InlineData("RUNNER_LOG_FLUSH_MS", "5", "Setting RUNNER_LOG_FLUSH_MS: '5' is out of range (use 10 to 10000)")]
    [InlineData("RUNNER_STOP_GRACE_SECONDS", "a while", "Setting RUNNER_STOP_GRACE_SECONDS: 'a while' is not a number")]
    [InlineData("AzureFunctionsJobHost__extensions__durableTask__storageProvider__partitionCount", "four", "Setting AzureFunctionsJobHost__extensions__durableTask__storageProvider__partitionCount: 'four' is not a whole number")]
    [InlineData("AzureWebJobsStorage", "AccountName=x;", "Setting AzureWebJobsStorage: the value is not a storage connection string (use \"UseDevelopmentStorage=true\" for Azurite, or DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...)")]
    public async Task Runner_WrongSetting_StopsWithOneLineNamingIt(string setting, string value, string expected)
    {
        using var data = new TempDirectory("envfabric-settings");

        var (exitCode, stdout, stderr) = await RunToExitAsync(RunnerStart(data.Path, (setting, value)));

        AssertOneLine(expected, exitCode, stdout, stderr);
    }

    [Fact]
    public async Task Host_BadPoolsFile_StopsWithOneLineNamingTheFileAndTheProblem()
    {
        using var data = new TempDirectory("envfabric-settings");
        var file = Path.Combine(data.Path, "pools.json");
        await File.WriteAllTextAsync(file, """{"pools": [{"name": "default", "capacity": 0}], "queues": [{"name": "q", "pool": "nowhere"}]}""");

        var (exitCode, stdout, stderr) = await RunToExitAsync(HostStart(data.Path));

        AssertOneLine($"{file}: pools[0] 'default': capacity 0 is out of range (use 1 to 10000)", exitCode, stdout, stderr);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("YES")]
    [InlineData("On")]
    public async Task Host_PipBooleanForm_StartsAndAnswersHealth(string value)
    {
        using var data = new TempDirectory("envfabric-settings");
        var port = AzuriteFixture.FreePort();
        var start = HostStart(data.Path, ("PIP_NO_INDEX", value), ("PORT", port.ToString()), ("ENV_ALLOW_DIRECT_URLS", value));
        using var process = Process.Start(start)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var answered = await EnvironmentHostForTests.EventuallyAsync(
                async () =>
                {
                    Assert.False(process.HasExited, "the host exited: " + string.Join('\n', output));
                    try
                    {
                        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/api/health"));
                        return true;
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        return false;
                    }
                },
                ExitWithin);

            Assert.True(answered, "the host did not answer /api/health: " + string.Join('\n', output));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Runner_PipNoIndexOne_InstallsFromFindLinksWithoutTouchingTheIndex()
    {
        // An index that counts every connection: PIP_NO_INDEX=1 must keep pip away from it.
        using var index = new TcpListener(System.Net.IPAddress.Loopback, 0);
        index.Start();
        var connections = 0;
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var client = await index.AcceptTcpClientAsync(stop.Token);
                Interlocked.Increment(ref connections);
            }
        });
        var indexUrl = $"http://127.0.0.1:{((System.Net.IPEndPoint)index.LocalEndpoint).Port}/simple";
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, new Dictionary<string, string?> { ["PIP_NO_INDEX"] = "1", ["PIP_INDEX_URL"] = indexUrl });

        await host.CreateCondaAsync("noindex", "beta==2.0");
        var (_, detail) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/noindex");

        Assert.Contains(detail!["packages"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "beta" && p["version"]!.GetValue<string>() == "2.0");
        Assert.Contains(detail["packages"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "alpha");
        Assert.Equal(0, Volatile.Read(ref connections));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => accepting);
    }

    private static void AssertOneLine(string expected, int exitCode, string stdout, string stderr)
    {
        var all = stdout + stderr;
        Assert.Equal(StartupFailure.ExitCode, exitCode);
        Assert.Equal(expected, stderr.TrimEnd('\n'));
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", all, StringComparison.Ordinal);
    }

    private ProcessStartInfo HostStart(string dataRoot, params (string Name, string Value)[] settings) =>
        Start("EnvFabric.Functions.dll", dataRoot, settings);

    private ProcessStartInfo RunnerStart(string dataRoot, params (string Name, string Value)[] settings) =>
        Start("EnvFabric.Runner.dll", dataRoot, settings);

    private ProcessStartInfo Start(string assembly, string dataRoot, (string Name, string Value)[] settings)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dataRoot,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly));
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment["AzureWebJobsStorage"] = azurite.ConnectionString;
        start.Environment["DATA_ROOT"] = dataRoot;
        start.Environment["FUNCTIONS_MASTER_KEY"] = FunctionsFactory.MasterKey;
        start.Environment["ENVFABRIC_STORAGE_PREFIX"] = AzuriteFixture.UniqueName("s");
        start.Environment["AzureFunctionsJobHost__extensions__durableTask__hubName"] = "hub" + AzuriteFixture.UniqueName("h");
        start.Environment["RUNNER_ID"] = AzuriteFixture.UniqueName("r");
        foreach (var (name, value) in settings)
        {
            start.Environment[name] = value;
        }

        return start;
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunToExitAsync(ProcessStartInfo start)
    {
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ExitWithin);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{start.ArgumentList[0]} did not stop within {ExitWithin}: {await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
