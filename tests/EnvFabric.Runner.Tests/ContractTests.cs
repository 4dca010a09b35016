using EnvFabric.Core.Runner;
using EnvFabric.Runner.Discovery;

namespace EnvFabric.Runner.Tests;

public sealed class ContractTests
{
    [Theory]
    [InlineData("python main.py", new[] { "python", "main.py" })]
    [InlineData("  python   main.py --arg value ", new[] { "python", "main.py", "--arg", "value" })]
    [InlineData("python 'a b' \"c d\"", new[] { "python", "a b", "c d" })]
    [InlineData("python a\\ b", new[] { "python", "a b" })]
    [InlineData("echo \"x \\\"y\\\" \\$z \\q\"", new[] { "echo", "x \"y\" $z \\q" })]
    [InlineData("echo 'it'\\''s'", new[] { "echo", "it's" })]
    [InlineData("python -c 'import os; os.system(\"x\")' > out; rm -rf /", new[] { "python", "-c", "import os; os.system(\"x\")", ">", "out;", "rm", "-rf", "/" })]
    [InlineData("run ''", new[] { "run", "" })]
    public void CommandLineSplit_ShellLikeQuoting_ProducesArgvWithoutExpansion(string command, string[] expected)
    {
        Assert.True(CommandLine.TrySplit(command, out var argv, out var error), error);
        Assert.Equal(expected, argv);
    }

    [Fact]
    public void RunnerJson_JobWithPackageIndex_IsVersionTwoAndRoundTrips()
    {
        RunnerJob job = new AddPackagesJob
        {
            JobId = "b",
            InstanceId = "i",
            LogBlobName = "l",
            EnvironmentDirectory = "/d",
            Packages = ["x"],
            Version = RunnerJob.PackageIndexVersion,
            PackageIndex = new PackageIndex { IndexUrl = "https://pypi.internal/simple", FindLinks = ["/srv/wheels"], TrustedHosts = ["pypi.internal"], NoIndex = true },
        };

        var json = RunnerJson.Serialize(job);
        Assert.Contains("\"version\":2", json);
        Assert.Contains("\"package_index\":{\"index_url\":\"https://pypi.internal/simple\"", json);
        Assert.True(RunnerJson.TryDeserializeJob(json, out var back, out var error), error);
        Assert.Equal(["/srv/wheels"], back!.PackageIndex!.FindLinks);
        Assert.True(back.PackageIndex.NoIndex);
        Assert.Equal(json, RunnerJson.Serialize(back));
    }

    [Fact]
    public void RunnerJson_ScriptWithQuotas_Version3RoundTrips()
    {
        var json = "{\"kind\":\"script\",\"version\":3,\"job_id\":\"a\",\"instance_id\":\"i\",\"log_blob_name\":\"l\",\"environment_directory\":\"/d\",\"working_directory\":\"/w\",\"memory_limit_mb\":100,\"cpu_limit\":0.5}";

        Assert.True(RunnerJson.TryDeserializeJob(json, out var back, out var error), error);
        var script = Assert.IsType<ScriptJob>(back);
        Assert.Equal((RunnerJob.QuotaVersion, 100L, 0.5), (script.Version, script.MemoryLimitMb!.Value, script.CpuLimit!.Value));
        Assert.Contains("\"version\":3", RunnerJson.Serialize(script));
    }

    [Theory]
    [InlineData("python 'unterminated", "unterminated single quote")]
    [InlineData("python \"unterminated", "unterminated double quote")]
    [InlineData("python trailing\\", "trailing backslash")]
    [InlineData("   ", "empty")]
    [InlineData(null, "empty")]
    public void CommandLineSplit_Malformed_Refused(string? command, string reason)
    {
        Assert.False(CommandLine.TrySplit(command, out _, out var error));
        Assert.Contains(reason, error);
    }

    [Fact]
    public void RunnerJson_EveryKind_RoundTripsWithKindAndVersion()
    {
        RunnerJob[] jobs =
        [
            new CreateEnvironmentJob { JobId = "a", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = "/d", Backend = EnvironmentBackend.Uv, PythonVersion = "3.12", Packages = ["x>=1"], RequirementsText = "y\n" },
            new AddPackagesJob { JobId = "b", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = "/d", Packages = ["x"] },
            new RemovePackagesJob { JobId = "c", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = "/d", Packages = ["x"] },
            new SyncEnvironmentJob { JobId = "d", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = "/d", Backend = EnvironmentBackend.Conda },
            new LockEnvironmentJob { JobId = "e", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = "/d" },
            new ListPackagesJob { JobId = "f", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = "/d" },
            new RenameEnvironmentJob { JobId = "g", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = "/d", NewDirectory = "/e" },
            new DeleteEnvironmentJob { JobId = "h", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = "/d" },
            new RunCodeJob { JobId = "k", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = "/d", Code = "print(1)", TimeoutSeconds = 30 },
            new PythonInstallJob { JobId = "p", InstanceId = "", LogBlobName = "l", EnvironmentDirectory = "/data/python", PythonVersion = "3.12", Tool = "conda", ProgressEvents = false },
            new ScriptJob { JobId = "m", InstanceId = "i", LogBlobName = "l", EnvironmentDirectory = "/d", WorkingDirectory = "/w", EnvironmentVariables = new Dictionary<string, string> { ["A_B"] = "1" }, Secrets = new Dictionary<string, string> { ["TOKEN"] = "t" } },
        ];

        foreach (var job in jobs)
        {
            var json = RunnerJson.Serialize(job);
            Assert.Contains("\"kind\":\"" + Jobs.JobExecutor.KindOf(job) + "\"", json);
            Assert.Contains("\"version\":1", json);
            Assert.True(RunnerJson.TryDeserializeJob(json, out var back, out var error), error);
            Assert.Equal(json, RunnerJson.Serialize(back!));
        }

        var script = (ScriptJob)jobs[^1];
        Assert.Contains("\"A_B\":\"1\"", RunnerJson.Serialize(script));
    }

    [Theory]
    [InlineData("{\"kind\":\"script\",\"version\":4,\"job_id\":\"a\",\"instance_id\":\"i\",\"log_blob_name\":\"l\",\"environment_directory\":\"/d\",\"working_directory\":\"/w\"}", "unsupported job contract version")]
    [InlineData("{\"kind\":\"teleport\",\"version\":1,\"job_id\":\"a\"}", "invalid job message")]
    [InlineData("{\"kind\":\"script\",\"version\":1,\"job_id\":\"a\"}", "invalid job message")]
    [InlineData("not json", "invalid job message")]
    [InlineData("{\"kind\":\"env.delete\",\"job_id\":\"a/../b\",\"instance_id\":\"i\",\"log_blob_name\":\"l\",\"environment_directory\":\"/d\"}", "job_id must be")]
    [InlineData("[1]", "must be a JSON object")]
    public void RunnerJson_BadMessages_RefusedWithReason(string json, string reason)
    {
        Assert.False(RunnerJson.TryDeserializeJob(json, out _, out var error));
        Assert.Contains(reason, error);
    }

    [Fact]
    public void RunnerJson_KindAfterOtherProperties_StillRead()
    {
        const string json = "{\"job_id\":\"a\",\"instance_id\":\"i\",\"log_blob_name\":\"l\",\"environment_directory\":\"/d\",\"code\":\"print(2)\",\"kind\":\"env.run\"}";
        Assert.True(RunnerJson.TryDeserializeJob(json, out var job, out var error), error);
        Assert.Equal("print(2)", Assert.IsType<RunCodeJob>(job).Code);
    }

    [Fact]
    public void JobResult_Serialized_UsesSnakeCaseAndStringEnums()
    {
        var json = RunnerJson.Serialize(new JobResult { JobId = "a", Kind = "script", Status = JobStatus.TimedOut, Lock = new LockFile(LockKind.UvLock, "uv.lock", "x"), FailedPackages = [new PackageFailure("p", "e")] });
        Assert.Contains("\"status\":\"timed_out\"", json);
        Assert.Contains("\"kind\":\"uv.lock\"", json);
        Assert.Contains("\"failed_packages\":[{\"package\":\"p\",\"error\":\"e\"}]", json);
        Assert.Equal(JobStatus.TimedOut, RunnerJson.Deserialize<JobResult>(json)!.Status);
    }

    [Fact]
    public void MountInfo_CacheOnOtherMount_Warns()
    {
        const string mountinfo = """
            22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
            40 22 0:45 / /mnt/nas rw,relatime shared:20 - nfs4 server:/share rw,vers=4.1
            41 22 0:46 / /mnt/nas/uv_cache rw,relatime shared:21 - nfs4 server:/cache rw,vers=4.1
            42 22 0:47 / /mnt/with\040space rw - tmpfs tmpfs rw
            """;
        var mounts = MountInfo.Parse(mountinfo);

        Assert.Equal("/mnt/with space", mounts[3].MountPoint);
        Assert.Equal("/mnt/nas", MountInfo.Find(mounts, "/mnt/nas/envs/a")!.MountPoint);
        Assert.Null(MountInfo.SameMountWarning(mounts, "/mnt/nas/cache-here", "/mnt/nas/envs"));
        Assert.Contains("different file systems", MountInfo.SameMountWarning(mounts, "/mnt/nas/uv_cache", "/mnt/nas/envs"));
        Assert.Contains("different file systems", MountInfo.SameMountWarning(mounts, "/var/cache/uv", "/mnt/nas/envs"));
    }

    [Fact]
    public void ToolDiscoveryResolve_VersionPrefix_PicksNewestPatch()
    {
        PythonInterpreter[] pythons = [new("3.11.7", "/p/3.11.7", "pyenv"), new("3.11.9", "/p/3.11.9", "pyenv"), new("3.12.1", "/p/3.12.1", "path"), new("3.1.0", "/p/3.1.0", "pyenv")];
        Assert.Equal("/p/3.11.9", ToolDiscovery.Resolve(pythons, "3.11")!.Path);
        Assert.Equal("/p/3.11.7", ToolDiscovery.Resolve(pythons, "3.11.7")!.Path);
        Assert.Equal("/p/3.1.0", ToolDiscovery.Resolve(pythons, "3.1")!.Path);
        Assert.Null(ToolDiscovery.Resolve(pythons, "3.13"));
    }
}
