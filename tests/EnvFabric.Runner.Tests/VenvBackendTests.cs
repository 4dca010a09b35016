using EnvFabric.Core.Runner;

namespace EnvFabric.Runner.Tests;

/// <summary>The venv backend end to end: real python -m venv and pip against the fixture's wheelhouse, through the queue.</summary>
[Collection(RunnerCollection.Name)]
public sealed class VenvBackendTests(RunnerFixture fixture)
{
    private RunnerHarness Runner => fixture.Runner;

    [Fact]
    public async Task VenvEnvironment_Lifecycle_CreateAddListLockSyncRunRemoveRenameDelete()
    {
        var dir = Path.Combine(Runner.Paths.Envs, "e2e-" + Guid.NewGuid().ToString("N")[..6]);

        // create: alpha pulls beta (>=1.0, so the newest, 2.0.0) from the wheelhouse
        var created = await Runner.RunAsync(new CreateEnvironmentJob { JobId = RunnerHarness.NewId(), InstanceId = "i1", LogBlobName = "env/create.log", EnvironmentDirectory = dir, Backend = EnvironmentBackend.Venv, PythonVersion = "3.11", Packages = ["alpha"] });
        Assert.True(created.Status == JobStatus.Succeeded, created.Error + created.StderrTail);
        Assert.Contains(new InstalledPackage("alpha", "1.0.0"), created.Packages!);
        Assert.Contains(new InstalledPackage("beta", "2.0.0"), created.Packages!);
        Assert.StartsWith("3.11.", created.PythonVersion);
        Assert.Equal(["alpha"], created.Dependencies!);
        Assert.Equal(LockKind.PipFreeze, created.Lock!.Kind);
        Assert.Contains("alpha==1.0.0", created.Lock.Text);
        Assert.Contains("beta==2.0.0", created.Lock.Text);
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "requirements.lock.txt")), created.Lock.Text);
        Assert.Empty(created.FailedPackages);
        Assert.Contains("pip", await Runner.ReadLogAsync("env/create.log"));

        // no pip inside the venv (VENV_WITH_PIP is off): the base interpreter's pip installs, lists and freezes
        Assert.False(File.Exists(Path.Combine(dir, ".venv", "bin", "pip")));
        Assert.DoesNotContain(created.Packages!, p => p.Name is "pip" or "setuptools");
        Assert.Contains("--python", await Runner.ReadLogAsync("env/create.log"));

        // add: one good spec, one version that does not exist
        var added = await Runner.RunAsync(new AddPackagesJob { JobId = RunnerHarness.NewId(), InstanceId = "i1", LogBlobName = "env/add.log", EnvironmentDirectory = dir, Packages = ["gamma-tools==0.3.1", "beta==9.9"] });
        Assert.Equal(JobStatus.Succeeded, added.Status);
        Assert.Contains(new InstalledPackage("gamma-tools", "0.3.1"), added.Packages!);
        var failure = Assert.Single(added.FailedPackages);
        Assert.Equal("beta==9.9", failure.Package);
        Assert.Contains("No matching distribution found for beta==9.9", failure.Error);
        Assert.Contains(new InstalledPackage("beta", "2.0.0"), added.Packages!);
        Assert.Equal(["alpha", "gamma-tools==0.3.1"], added.Dependencies!);
        Assert.Contains("gamma-tools==0.3.1", added.Lock!.Text);

        // the lock is what pip freeze prints for the venv
        Assert.Equal(await PipFreezeAsync(dir), added.Lock.Text);

        // list
        var listed = await Runner.RunAsync(new ListPackagesJob { JobId = RunnerHarness.NewId(), InstanceId = "i1", LogBlobName = "env/list.log", EnvironmentDirectory = dir });
        Assert.Equal(added.Packages, listed.Packages);

        // sync: a fresh .venv from the lock (a file planted in the old one disappears)
        var marker = Path.Combine(dir, ".venv", "planted-marker");
        File.WriteAllText(marker, "old environment");
        var synced = await Runner.RunAsync(new SyncEnvironmentJob { JobId = RunnerHarness.NewId(), InstanceId = "i1", LogBlobName = "env/sync.log", EnvironmentDirectory = dir });
        Assert.True(synced.Status == JobStatus.Succeeded, synced.Error);
        Assert.False(File.Exists(marker));
        Assert.Equal(added.Packages, synced.Packages);
        Assert.Equal(added.Lock.Text, synced.Lock!.Text);

        // run code in it
        var ran = await Runner.RunAsync(new RunCodeJob { JobId = RunnerHarness.NewId(), InstanceId = "i1", LogBlobName = "env/run.log", EnvironmentDirectory = dir, Code = "import alpha, gamma_tools, beta; print(alpha.__version__, beta.__version__, gamma_tools.__version__)" });
        Assert.Equal(JobStatus.Succeeded, ran.Status);
        Assert.Equal("1.0.0 2.0.0 0.3.1", ran.StdoutTail.Trim());

        // remove (and a name that is not installed)
        var removed = await Runner.RunAsync(new RemovePackagesJob { JobId = RunnerHarness.NewId(), InstanceId = "i1", LogBlobName = "env/remove.log", EnvironmentDirectory = dir, Packages = ["gamma-tools", "delta"] });
        Assert.Equal(JobStatus.Succeeded, removed.Status);
        Assert.DoesNotContain(removed.Packages!, p => p.Name == "gamma-tools");
        Assert.DoesNotContain("gamma-tools", removed.Lock!.Text);
        Assert.Equal(["alpha"], removed.Dependencies!);
        Assert.Equal("delta", Assert.Single(removed.FailedPackages).Package);

        // rename, then delete
        var moved = dir + "-renamed";
        var renamed = await Runner.RunAsync(new RenameEnvironmentJob { JobId = RunnerHarness.NewId(), InstanceId = "i1", LogBlobName = "env/rename.log", EnvironmentDirectory = dir, NewDirectory = moved });
        Assert.Equal(JobStatus.Succeeded, renamed.Status);
        Assert.Equal(moved, renamed.EnvironmentDirectory);
        Assert.False(Directory.Exists(dir));
        Assert.Contains(new InstalledPackage("alpha", "1.0.0"), renamed.Packages!);

        var deleted = await Runner.RunAsync(new DeleteEnvironmentJob { JobId = RunnerHarness.NewId(), InstanceId = "i1", LogBlobName = "env/delete.log", EnvironmentDirectory = moved });
        Assert.Equal(JobStatus.Succeeded, deleted.Status);
        Assert.False(Directory.Exists(moved));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("on")]
    public async Task CreateEnvironment_VenvWithPip_VenvHasItsOwnWorkingPip(string setting)
    {
        await using var runner = await RunnerHarness.StartAsync(fixture.Azurite, new Dictionary<string, string?> { ["VENV_WITH_PIP"] = setting, ["PIP_FIND_LINKS"] = fixture.Wheels.Path, ["PIP_NO_INDEX"] = "1" });
        var dir = Path.Combine(runner.Paths.Envs, "withpip-" + Guid.NewGuid().ToString("N")[..6]);

        var created = await runner.RunAsync(new CreateEnvironmentJob { JobId = RunnerHarness.NewId(), InstanceId = "i5", LogBlobName = "env/withpip.log", EnvironmentDirectory = dir, PythonVersion = "3.11", Packages = ["beta==1.0.0"] });

        Assert.True(created.Status == JobStatus.Succeeded, created.Error + created.StderrTail);
        Assert.Contains(new InstalledPackage("beta", "1.0.0"), created.Packages!);
        Assert.Contains(created.Packages!, p => p.Name == "pip");
        Assert.Contains("beta==1.0.0", created.Lock!.Text);
        Assert.DoesNotContain("--python", await runner.ReadLogAsync("env/withpip.log"));
        Assert.Equal(0, await RunnerHarness.RunToolAsync(Path.Combine(dir, ".venv", "bin", "pip"), "--version"));
    }

    [Fact]
    public async Task CreateEnvironment_UnknownVersionAndRequirementsText_OthersInstalledUnknownIsFailedPackage()
    {
        var dir = Path.Combine(Runner.Paths.Envs, "unknown-" + Guid.NewGuid().ToString("N")[..6]);
        var result = await Runner.RunAsync(new CreateEnvironmentJob { JobId = RunnerHarness.NewId(), InstanceId = "i2", LogBlobName = "env/unknown.log", EnvironmentDirectory = dir, PythonVersion = "3.11", Packages = ["alpha==7.0"], RequirementsText = "# from requirements.txt\ngamma-tools==0.3.1\n" });

        Assert.Equal(JobStatus.Succeeded, result.Status);
        var failure = Assert.Single(result.FailedPackages);
        Assert.Equal("alpha==7.0", failure.Package);
        Assert.Contains("alpha==7.0", failure.Error);
        Assert.DoesNotContain(result.Packages!, p => p.Name == "alpha");
        Assert.Equal(["gamma-tools==0.3.1"], result.Dependencies!);
        Assert.Contains(new InstalledPackage("gamma-tools", "0.3.1"), result.Packages!);
        Assert.Contains("failed package alpha==7.0", await Runner.ReadLogAsync("env/unknown.log"));
    }

    [Fact]
    public async Task CreateEnvironment_InvalidSpecOrPath_RejectedBeforeAnyCommand()
    {
        var dir = Path.Combine(Runner.Paths.Envs, "bad-" + Guid.NewGuid().ToString("N")[..6]);
        var badSpec = await Runner.RunAsync(new CreateEnvironmentJob { JobId = RunnerHarness.NewId(), InstanceId = "i3", LogBlobName = "env/bad1.log", EnvironmentDirectory = dir, Packages = ["numpy; rm -rf /"] });
        var outside = await Runner.RunAsync(new CreateEnvironmentJob { JobId = RunnerHarness.NewId(), InstanceId = "i3", LogBlobName = "env/bad2.log", EnvironmentDirectory = Path.Combine(Runner.Paths.Envs, "..", "escaped"), Packages = ["alpha"] });
        var noPython = await Runner.RunAsync(new CreateEnvironmentJob { JobId = RunnerHarness.NewId(), InstanceId = "i3", LogBlobName = "env/bad3.log", EnvironmentDirectory = dir + "-py", PythonVersion = "3.99" });

        Assert.Equal(JobStatus.Rejected, badSpec.Status);
        Assert.Contains("rm", badSpec.Error);
        Assert.False(Directory.Exists(dir));
        Assert.Equal(JobStatus.Rejected, outside.Status);
        Assert.False(Directory.Exists(Path.Combine(Runner.Paths.DataRoot, "escaped")));
        Assert.Equal(JobStatus.Failed, noPython.Status);
        Assert.Contains("Python 3.99 is not available", noPython.Error);
        Assert.Null(badSpec.ProcessStartedAt);
    }

    [Fact]
    public async Task RunCode_Timeout_ReportsTimedOut()
    {
        var result = await Runner.RunAsync(new RunCodeJob
        {
            JobId = RunnerHarness.NewId(),
            InstanceId = "i4",
            LogBlobName = "env/timeout.log",
            EnvironmentDirectory = fixture.ScriptEnvironment,
            Code = "import time\nprint('start', flush=True)\ntime.sleep(30)",
            TimeoutSeconds = 1,
        });

        Assert.Equal(JobStatus.TimedOut, result.Status);
        Assert.Contains("start", result.StdoutTail);
        Assert.Contains("timed out", result.Error);
    }

    [Fact]
    public async Task EnvironmentJob_OverItsTimeout_TimedOutAndProcessTreeEnded()
    {
        var dir = Path.Combine(Runner.Paths.Envs, "slow-" + Guid.NewGuid().ToString("N")[..6]);
        var result = await Runner.RunAsync(new CreateEnvironmentJob
        {
            JobId = RunnerHarness.NewId(),
            InstanceId = "i5",
            LogBlobName = "env/slow.log",
            EnvironmentDirectory = dir,
            PythonVersion = "3.11",
            Packages = ["alpha"],
            TimeoutSeconds = 1,
        });

        Assert.Equal(JobStatus.TimedOut, result.Status);
        Assert.Contains("timed out after 1 s", result.Error);
        Assert.True(RunnerLogs.IsComplete(await Runner.ReadLogAsync("env/slow.log")));
    }

    private static async Task<string> PipFreezeAsync(string dir)
    {
        var start = new System.Diagnostics.ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-m", "pip", "--python", Path.Combine(dir, ".venv", "bin", "python"), "freeze" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1";
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, await stderr);
        return await stdout;
    }
}
