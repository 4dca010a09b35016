using System.Diagnostics;
using System.Text.Json;
using System.Xml.Linq;
using EnvFabric.Core.Configuration;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

/// <summary>The repository's own scripts, settings sample, README and Azure template.</summary>
public sealed class RunScriptTests
{
    private static readonly string[] HostSettings = ["AzureWebJobsStorage", "FUNCTIONS_MASTER_KEY"];

    [Theory]
    [InlineData("run")]
    [InlineData("test")]
    [InlineData("scripts/lib.sh")]
    [InlineData(".ci/run")]
    public async Task Script_BashSyntax_IsValid(string script)
    {
        var (exitCode, output) = await RunAsync("bash", "-n", Path.Combine(RepoPaths.Root, script));

        Assert.True(exitCode == 0, output);
    }

    [Theory]
    [InlineData("0.1")]
    [InlineData("1")]
    public async Task WaitForPort_NothingListening_ReturnsFalseWithoutAShellError(string seconds)
    {
        var port = AzuriteFixture.FreePort();
        var script = $"source '{Path.Combine(RepoPaths.Root, "scripts", "lib.sh")}'; wait_for_port {port} {seconds}; echo \"status=$?\"";

        var (exitCode, output) = await RunAsync("bash", "-c", script);

        Assert.Equal(0, exitCode);
        Assert.Contains("status=1", output, StringComparison.Ordinal);
        Assert.DoesNotContain("error", output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task WaitForPort_Listening_ReturnsTrue()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var script = $"source '{Path.Combine(RepoPaths.Root, "scripts", "lib.sh")}'; wait_for_port {port} 0.1; echo \"status=$?\"";

        var (_, output) = await RunAsync("bash", "-c", script);

        Assert.Contains("status=0", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KillTree_ParentWithChildrenOneIgnoringTerm_LeavesNothingBehind()
    {
        // A parent with two children, one of which ignores TERM: the grace period ends in KILL.
        var lib = Path.Combine(RepoPaths.Root, "scripts", "lib.sh");
        var script = $$"""
            source '{{lib}}'
            bash -c 'trap "" TERM; sleep 300 & sleep 300 & wait' &
            parent=$!
            sleep 0.5
            children=$(pgrep -P $parent | tr '\n' ' ')
            STOP_GRACE_SECONDS=1 kill_tree $parent
            sleep 0.2
            for p in $parent $children; do
              if kill -0 $p 2>/dev/null && [ "$(ps -o stat= -p $p | cut -c1)" != Z ]; then echo "alive=$p"; fi
            done
            echo "children=$children"
            """;

        var (exitCode, output) = await RunAsync("bash", "-c", script);

        Assert.Equal(0, exitCode);
        Assert.Matches(@"children=\d+ \d+", output);
        Assert.DoesNotContain("alive=", output, StringComparison.Ordinal);
    }

    [Fact]
    public void LocalSettingsSample_ListsEverySettingWithTheLocalDefaults()
    {
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "local.settings.sample.json")));
        var values = sample.RootElement.GetProperty("Values");

        foreach (var setting in SettingsBinding.Keys.Keys.Concat(HostSettings))
        {
            Assert.True(values.TryGetProperty(setting, out _), $"local.settings.sample.json lacks {setting}");
        }

        Assert.Equal("UseDevelopmentStorage=true", values.GetProperty("AzureWebJobsStorage").GetString());
        Assert.Equal("", values.GetProperty("FUNCTIONS_MASTER_KEY").GetString());
        Assert.Equal(7071, sample.RootElement.GetProperty("Host").GetProperty("LocalHttpPort").GetInt32());
    }

    [Fact]
    public void Readme_DocumentsEverySettingAndHostJsonKey()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "local.settings.sample.json")));

        var settings = sample.RootElement.GetProperty("Values").EnumerateObject().Select(p => p.Name)
            .Concat(["PORT", "Host.LocalHttpPort", "AzureWebJobsStorage__accountName"])
            .Where(name => !readme.Contains("`" + name + "`", StringComparison.Ordinal));
        var hostJson = new[] { "functionTimeout", "http.routePrefix", "http.maxConcurrentRequests", "rateLimit.requestsPerMinute", "storageProvider.partitionCount", "durableTask.hubName" }
            .Where(key => !readme.Contains(key + "`", StringComparison.Ordinal));
        var missing = settings.Concat(hostJson).ToList();

        Assert.True(missing.Count == 0, "README.md does not document: " + string.Join(", ", missing));
    }

    [Fact]
    public async Task Bicep_MainTemplate_CompilesWithIdentityStorageNfsShareAndBothApps()
    {
        var bicep = BicepPath();
        using var output = new TempDirectory("envfabric-arm");
        var armFile = Path.Combine(output.Path, "main.json");

        var (exitCode, log) = await RunAsync(bicep, "build", Path.Combine(RepoPaths.Root, "infra", "main.bicep"), "--outfile", armFile);

        Assert.True(exitCode == 0, log);
        Assert.DoesNotContain("Warning", log, StringComparison.Ordinal);
        using var arm = JsonDocument.Parse(File.ReadAllText(armFile));
        var resources = arm.RootElement.GetProperty("resources");
        var all = resources.ValueKind == JsonValueKind.Object ? resources.EnumerateObject().Select(p => p.Value).ToList() : resources.EnumerateArray().ToList();
        string TypeOf(JsonElement r) => r.GetProperty("type").GetString()!;

        var share = Assert.Single(all, r => TypeOf(r) == "Microsoft.Storage/storageAccounts/fileServices/shares");
        Assert.Equal("NFS", share.GetProperty("properties").GetProperty("enabledProtocols").GetString());
        var accounts = all.Where(r => TypeOf(r) == "Microsoft.Storage/storageAccounts").ToList();
        Assert.Contains(accounts, a => a.GetProperty("kind").GetString() == "FileStorage");
        Assert.Contains(accounts, a => a.GetProperty("kind").GetString() == "StorageV2" && !a.GetProperty("properties").GetProperty("allowSharedKeyAccess").GetBoolean());
        Assert.Single(all, r => TypeOf(r) == "Microsoft.Authorization/roleAssignments" && r.TryGetProperty("copy", out _));
        Assert.Equal(2, all.Count(r => TypeOf(r) == "Microsoft.App/containerApps"));

        // The runners: one app per pool (a copy loop over the pools parameter), each scaled by KEDA on its pool's
        // queue with the runners' identity; by default one pool, default, of 1 to 3 replicas.
        var runners = Assert.Single(all, r => TypeOf(r) == "Microsoft.App/containerApps" && r.TryGetProperty("copy", out _));
        Assert.Equal("[length(parameters('pools'))]", runners.GetProperty("copy").GetProperty("count").GetString());
        var pools = arm.RootElement.GetProperty("parameters").GetProperty("pools");
        var pool = Assert.Single(pools.GetProperty("defaultValue").EnumerateArray());
        Assert.Equal(("default", 1, 3, 5), (pool.GetProperty("name").GetString(), pool.GetProperty("minReplicas").GetInt32(), pool.GetProperty("maxReplicas").GetInt32(), pool.GetProperty("queueLength").GetInt32()));
        Assert.False(arm.RootElement.GetProperty("parameters").TryGetProperty("runnerReplicas", out _));
        var rule = Assert.Single(runners.GetProperty("properties").GetProperty("template").GetProperty("scale").GetProperty("rules").EnumerateArray()).GetProperty("custom");
        Assert.Equal("azure-queue", rule.GetProperty("type").GetString());
        Assert.Equal(["accountName", "queueLength", "queueName"], rule.GetProperty("metadata").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Contains("runner-jobs-", rule.GetProperty("metadata").GetProperty("queueName").GetString(), StringComparison.Ordinal);
        Assert.Contains("userAssignedIdentities", rule.GetProperty("identity").GetString(), StringComparison.Ordinal);
        Assert.Contains("RUNNER_POOL", runners.GetRawText(), StringComparison.Ordinal);
        var template = arm.RootElement.GetRawText();
        Assert.Contains("AzureWebJobsStorage__accountName", template, StringComparison.Ordinal);
        Assert.Contains("NfsAzureFile", template, StringComparison.Ordinal);
        Assert.Contains("AzureFunctionsJobHost__extensions__durableTask__hubName", template, StringComparison.Ordinal);
        Assert.Contains("tcpSocket", template, StringComparison.Ordinal);
    }

    /// <summary>The CLI from the pinned Azure.Bicep.CommandLine package (restored with the solution, by infra/EnvFabric.Infra.csproj).</summary>
    private static string BicepPath()
    {
        var props = XDocument.Load(Path.Combine(RepoPaths.Root, "Directory.Packages.props"));
        var version = props.Descendants("PackageVersion")
            .Single(e => (string?)e.Attribute("Include") == "Azure.Bicep.CommandLine.linux-x64")
            .Attribute("Version")!.Value;
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } custom
            ? custom
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(packages, "azure.bicep.commandline.linux-x64", version, "tools", "bicep");
        Assert.True(File.Exists(path), $"Bicep CLI not restored at {path}: run `dotnet restore infra/EnvFabric.Infra.csproj` (./test restores the whole solution).");
        return path;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
