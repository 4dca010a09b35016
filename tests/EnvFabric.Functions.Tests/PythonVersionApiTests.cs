using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using EnvFabric.Core.Runner;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>
/// <c>POST /api/python-versions</c> and the runners per version in <c>GET /api/conda/python-versions</c>, with the
/// real runner. This machine has neither uv nor conda, so the refusal is the real path; the install itself runs
/// end to end with a small stand-in <c>uv</c> on the runner's PATH.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class PythonVersionApiTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Install_NoRunnerWithUvOrConda_Is422AndVersionsNameTheRunner()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        var runnerId = "r" + host.Prefix;

        var (response, body) = await host.SendAsync(HttpMethod.Post, "/api/python-versions", new { version = "3.12" });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.False(body!["success"]!.GetValue<bool>());
        Assert.Equal("No runner can install Python", body["message"]!.GetValue<string>());
        Assert.Equal($"Installing Python 3.12 needs a live runner with uv or conda (micromamba, mamba or conda) on its PATH; live runners without either: {runnerId}", body["error"]!.GetValue<string>());
        var (_, audit) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation=python.install");
        Assert.Equal(0, audit!["count"]!.GetValue<int>());

        // The seed's fields stay; details name the runners per version (the venv interpreters found here).
        var (_, versions) = await host.SendAsync(HttpMethod.Get, "/api/conda/python-versions");
        Assert.True(versions!["success"]!.GetValue<bool>());
        Assert.Equal("venv", versions["source"]!.GetValue<string>());
        var listed = versions["versions"]!.AsArray().Select(v => v!.GetValue<string>()).ToList();
        var details = versions["details"]!.AsArray();
        Assert.Equal(listed, details.Select(d => d!["version"]!.GetValue<string>()));
        Assert.All(details, d => Assert.Equal([runnerId], d!["runners"]!.AsArray().Select(r => r!.GetValue<string>())));
    }

    [Theory]
    [InlineData("3")]
    [InlineData("2.7")]
    [InlineData("3.12.4.1")]
    [InlineData("3.123")]
    [InlineData("3.x")]
    [InlineData("3.12\n")]
    [InlineData(" 3.12")]
    [InlineData("3.1٢")]
    [InlineData("")]
    [InlineData(null)]
    public async Task Install_BadVersion_Is400AndChangesNothing(string? version)
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);

        var (response, body) = await host.SendAsync(HttpMethod.Post, "/api/python-versions", new { version });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(body!["success"]!.GetValue<bool>());
        Assert.Equal("Invalid Python version", body["message"]!.GetValue<string>());
        Assert.StartsWith("version must look like 3.12 or 3.12.4", body["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var (_, audit) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation=python.install");
        Assert.Equal(0, audit!["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task Install_UserKey_Is403AndUnknownInstallIs404()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);
        using var key = await host.Client.PostAsJsonAsync(new Uri("/api/keys", UriKind.Relative), new { name = "bot", role = "user", @namespace = "team-a" });
        var secret = JsonNode.Parse(await key.Content.ReadAsStringAsync())!["key"]!["value"]!.GetValue<string>();
        using var user = host.Factory.CreateKeyedClient(secret);

        using var refused = await user.PostAsJsonAsync(new Uri("/api/python-versions", UriKind.Relative), new { version = "3.12" });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.False(JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["success"]!.GetValue<bool>());

        var (missing, body) = await host.SendAsync(HttpMethod.Get, "/api/python-versions/installs/python-0123456789ab");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("Install not found", body!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Install_WithUvOnTheRunner_InstallsOnTheShareAndDiscoveryFindsIt()
    {
        // A real interpreter outside pyenv's shims, and its version.
        var real = new[] { "/usr/bin/python3", "/bin/python3", "/usr/local/bin/python3" }.First(File.Exists);
        real = new FileInfo(real).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? real;
        var version = (await OutputAsync(real, "-c", "import sys; print('%d.%d' % sys.version_info[:2])")).Trim();

        // The stand-in uv answers discovery and installs by writing {UV_PYTHON_INSTALL_DIR}/cpython-X.Y-fake/bin/python3,
        // a launcher that execs the real interpreter (a regular file, so discovery counts it as an interpreter of its own).
        using var tools = new TempDirectory("envfabric-fake-uv");
        var uv = Path.Combine(tools.Path, "uv");
        await File.WriteAllTextAsync(uv, $$"""
            #!{{real}}
            import os, sys
            args = sys.argv[1:]
            if args == ["--version"]:
                print("uv 0.0.0 (test stand-in)")
            elif args[:2] == ["python", "list"]:
                print("[]")
            elif args[:2] == ["python", "install"] and len(args) == 3:
                bin_dir = os.path.join(os.environ["UV_PYTHON_INSTALL_DIR"], "cpython-" + args[2] + "-fake", "bin")
                os.makedirs(bin_dir, exist_ok=True)
                launcher = os.path.join(bin_dir, "python3")
                with open(launcher, "w") as f:
                    f.write("#!{{real}}\nimport os, sys\nos.execv('{{real}}', ['{{real}}'] + sys.argv[1:])\n")
                os.chmod(launcher, 0o755)
                print("Installed Python " + args[2] + " to " + bin_dir, file=sys.stderr)
            else:
                sys.exit(2)
            """);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(uv, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, new Dictionary<string, string?> { ["PATH"] = tools.Path + ":" + Environment.GetEnvironmentVariable("PATH") });
        var runnerId = "r" + host.Prefix;

        var (response, body) = await host.SendAsync(HttpMethod.Post, "/api/python-versions?wait=120", new { version });

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body?.ToJsonString()} runner: {string.Join('\n', host.RunnerOutput.TakeLast(20))}");
        Assert.True(body!["success"]!.GetValue<bool>());
        var install = body["install"]!;
        Assert.Equal(("succeeded", "uv", runnerId), (install["status"]!.GetValue<string>(), install["tool"]!.GetValue<string>(), install["runner_id"]!.GetValue<string>()));
        var launcher = Path.Combine(host.Share.Path, "python", $"cpython-{version}-fake", "bin", "python3");
        Assert.True(File.Exists(launcher));

        // The runner discovered again and published at once: its interpreter list has the one on the share.
        var registry = host.Services.GetRequiredService<IRunnerRegistry>();
        Assert.True(
            await EnvironmentHostForTests.EventuallyAsync(
                async () => (await registry.GetRunnersAsync()).Single(r => r.RunnerId == runnerId).Capabilities.Pythons.Any(p => p.Path == launcher && p.Source == "uv" && p.Version.StartsWith(version + ".", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(30)),
            "discovery did not find " + launcher);
        var (_, versions) = await host.SendAsync(HttpMethod.Get, "/api/conda/python-versions");
        Assert.Contains(versions!["details"]!.AsArray(), d => d!["version"]!.GetValue<string>() == version && d["runners"]!.AsArray().Any(r => r!.GetValue<string>() == runnerId));

        // The status route and the audit trail tell the same.
        var (status, statusBody) = await host.SendAsync(HttpMethod.Get, install["id"] is { } id ? "/api/python-versions/installs/" + id.GetValue<string>() : "");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal("succeeded", statusBody!["install"]!["status"]!.GetValue<string>());
        var (_, audit) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation=python.install");
        Assert.Equal(install["id"]!.GetValue<string>(), audit!["items"]!.AsArray().Single()!["operation_id"]!.GetValue<string>());
    }

    private static async Task<string> OutputAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var text = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return text;
    }
}
