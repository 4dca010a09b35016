using System.Diagnostics;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Testing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EnvFabric.Runner.Tests;

[Collection(RunnerCollection.Name)]
public sealed class RunnerLifecycleTests(RunnerFixture fixture)
{
    [Fact]
    public async Task RunnerProcess_KilledMidJob_HeartbeatsStopAndWaitingSideSeesItStale()
    {
        using var share = new TempDirectory("envfabric-killed");
        var prefix = AzuriteFixture.UniqueName("k");
        var runnerId = "killed-" + Guid.NewGuid().ToString("N")[..8];
        var storage = StorageAccount.FromConnectionString(fixture.Azurite.ConnectionString);
        var names = new StorageNames(Options.Create(new EnvFabricOptions { StoragePrefix = prefix }));
        var jobs = new RunnerJobTable(storage, names);
        var registry = new TableRunnerRegistry(storage, names);
        var queue = new AzureRunnerJobQueue(storage, names);
        var env = Path.Combine(share.Path, "envs", "e");
        Assert.Equal(0, await RunnerHarness.RunToolAsync("python3", "-m", "venv", "--without-pip", Path.Combine(env, ".venv")));
        var work = Path.Combine(share.Path, "scripts", "s");
        Directory.CreateDirectory(work);
        File.WriteAllText(Path.Combine(work, "main.py"), "import os, time\nopen('pid', 'w').write(str(os.getpid()))\ntime.sleep(120)\n");

        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = share.Path, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EnvFabric.Runner.dll"));
        start.Environment["AzureWebJobsStorage"] = fixture.Azurite.ConnectionString;
        start.Environment["DATA_ROOT"] = share.Path;
        start.Environment["ENVFABRIC_STORAGE_PREFIX"] = prefix;
        start.Environment["RUNNER_ID"] = runnerId;
        start.Environment["RUNNER_HEARTBEAT_SECONDS"] = "0.5";
        start.Environment["RUNNER_JOB_HEARTBEAT_SECONDS"] = "0.5";
        start.Environment["AzureFunctionsJobHost__extensions__durableTask__hubName"] = "h" + Guid.NewGuid().ToString("N")[..10];
        using var runner = Process.Start(start)!;
        runner.OutputDataReceived += (_, _) => { };
        runner.ErrorDataReceived += (_, _) => { };
        runner.BeginOutputReadLine();
        runner.BeginErrorReadLine();
        try
        {
            await ScriptJobTests.WaitUntilAsync(async () => (await registry.GetRunnersAsync()).Any(r => r.RunnerId == runnerId && r.IsAlive(DateTimeOffset.UtcNow, TimeSpan.FromSeconds(5))), TimeSpan.FromSeconds(60));
            var job = new ScriptJob { JobId = RunnerHarness.NewId(), InstanceId = "orphan", LogBlobName = "killed.log", EnvironmentDirectory = env, WorkingDirectory = work, Command = "python main.py" };
            await queue.EnqueueAsync(job);

            // Heartbeats flow while the runner lives.
            await ScriptJobTests.WaitUntilAsync(async () => (await jobs.GetAsync(job.JobId))?.State == RunnerJobStates.Running, TimeSpan.FromSeconds(30));
            var first = (await jobs.GetAsync(job.JobId))!.LastHeartbeat;
            await ScriptJobTests.WaitUntilAsync(async () => (await jobs.GetAsync(job.JobId))!.LastHeartbeat > first, TimeSpan.FromSeconds(10));
            Assert.Equal(runnerId, (await jobs.GetAsync(job.JobId))!.RunnerId);

            runner.Kill();
            await runner.WaitForExitAsync();
            var atDeath = (await jobs.GetAsync(job.JobId))!.LastHeartbeat;
            await Task.Delay(2500);

            var row = (await jobs.GetAsync(job.JobId))!;
            var now = DateTimeOffset.UtcNow;
            Assert.Equal(atDeath, row.LastHeartbeat);
            Assert.Equal(RunnerJobStates.Running, row.State);
            Assert.True(row.IsStale(now, TimeSpan.FromSeconds(2)), "the job's heartbeat should be stale");
            var info = (await registry.GetRunnersAsync()).Single(r => r.RunnerId == runnerId);
            Assert.False(info.IsAlive(now, TimeSpan.FromSeconds(2)));
            Assert.False(info.Stopped);
        }
        finally
        {
            if (!runner.HasExited)
            {
                runner.Kill();
            }

            // The job's process lives in its own session; end it as the next runner (or the OS) would.
            var pidFile = Path.Combine(work, "pid");
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile), out var pid))
            {
                try
                {
                    Process.GetProcessById(pid).Kill(entireProcessTree: true);
                }
                catch (ArgumentException)
                {
                }
            }
        }
    }

    [Fact]
    public async Task RunnerHealthCheck_LiveRunner_HealthyThenStaleUnhealthy()
    {
        var registry = fixture.Runner.Services.GetService(typeof(IRunnerRegistry)) as IRunnerRegistry;
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var check = new RunnerHealthCheck(registry!, clock);
        var context = new HealthCheckContext { Registration = new HealthCheckRegistration("runner", check, HealthStatus.Unhealthy, null) };

        var healthy = await check.CheckHealthAsync(context);
        clock.Advance(TimeSpan.FromMinutes(5));
        var stale = await check.CheckHealthAsync(context);

        Assert.Equal(HealthStatus.Healthy, healthy.Status);
        Assert.Contains("venv", (string[])healthy.Data["backends"]);
        Assert.Equal(HealthStatus.Unhealthy, stale.Status);
        Assert.Contains("no runner heartbeat", stale.Description);
    }

    [Fact]
    public async Task RunnerRegistry_Capabilities_ListInterpretersAndVenvVersions()
    {
        var registry = (IRunnerRegistry)fixture.Runner.Services.GetService(typeof(IRunnerRegistry))!;
        var me = (await registry.GetRunnersAsync()).Single(r => r.RunnerId == fixture.Runner.RunnerId);

        Assert.Contains(EnvironmentBackend.Venv, me.Capabilities.Backends);
        Assert.Contains(me.Capabilities.Pythons, p => p.Version.StartsWith("3.11.", StringComparison.Ordinal));
        Assert.Contains(me.Capabilities.PythonVersions["venv"], v => v.StartsWith("3.11.", StringComparison.Ordinal));
        Assert.Equal(8, me.MaxConcurrent);
    }

    [Fact]
    public async Task JobLog_OverItsCap_DropsOldestWithMarkerAndKeepsTail()
    {
        await using var runner = await RunnerHarness.StartAsync(fixture.Azurite, new Dictionary<string, string?> { ["RUNNER_LOG_MAX_BYTES"] = "65536", ["RUNNER_LOG_TAIL_BYTES"] = "4096" });
        var env = Path.Combine(runner.Paths.Envs, "logcap");
        Assert.Equal(0, await RunnerHarness.RunToolAsync("python3", "-m", "venv", "--without-pip", Path.Combine(env, ".venv")));
        var dir = runner.ScriptDirectory(("main.py", "for i in range(60000):\n    print('line', i)\n"));
        var job = runner.Script(dir, env, "python main.py");

        var result = await runner.RunAsync(job);
        var log = await runner.ReadLogAsync(job.LogBlobName);

        Assert.Equal(JobStatus.Succeeded, result.Status);
        // The cap holds the whole blob, dropped-output note, tail and completion line included.
        Assert.InRange(log.Length, 32 * 1024, 65536);
        Assert.StartsWith("$ python main.py", log);
        Assert.Contains("bytes of output dropped: the log reached its cap of 65536 bytes", log);
        Assert.Contains("line 59999\n", log);
        Assert.True(RunnerLogs.IsComplete(log));
    }

    [Fact]
    public async Task Runner_MaxConcurrentTasks_MoreJobsWaitInTheQueue()
    {
        await using var runner = await RunnerHarness.StartAsync(fixture.Azurite, new Dictionary<string, string?> { ["MAX_CONCURRENT_TASKS"] = "2" });
        var env = Path.Combine(runner.Paths.Envs, "limit");
        Assert.Equal(0, await RunnerHarness.RunToolAsync("python3", "-m", "venv", "--without-pip", Path.Combine(env, ".venv")));
        // Each job records its start and end, and waits (up to a minute) until a second job runs beside it or the
        // others are done: the overlap is awaited, not hoped for from timing.
        var dir = runner.ScriptDirectory(("main.py", string.Join('\n',
            "import glob, os, sys, time",
            "open(sys.argv[1] + '.start', 'w').write(repr(time.time()))",
            "deadline = time.time() + 60",
            "while time.time() < deadline:",
            "    started, ended = len(glob.glob('*.start')), len(glob.glob('*.end'))",
            "    if started - ended >= 2 or ended >= 4:",
            "        break",
            "    time.sleep(0.02)",
            "time.sleep(0.3)",
            "open(sys.argv[1] + '.end', 'w').write(repr(time.time()))",
            "")));
        var jobs = Enumerable.Range(0, 5).Select(i => runner.Script(dir, env, $"python main.py span{i}")).ToList();

        foreach (var job in jobs)
        {
            await runner.Queue.EnqueueAsync(job);
        }

        var results = await Task.WhenAll(jobs.Select(j => runner.Sink.WaitForCompletedAsync(j.JobId, TimeSpan.FromSeconds(300))));
        Assert.All(results, r => Assert.Equal(JobStatus.Succeeded, r.Status));
        var spans = Enumerable.Range(0, 5).Select(i => new[] { "start", "end" }.Select(e => double.Parse(File.ReadAllText(Path.Combine(dir, $"span{i}.{e}")), System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToList();
        var mostAtOnce = spans.Max(s => spans.Count(o => o[0] <= s[0] && s[0] < o[1]));
        Assert.Equal(2, mostAtOnce);
    }

    [Fact]
    public async Task Job_LongerThanVisibilityTimeout_MessageRenewedAndJobRunsOnce()
    {
        await using var runner = await RunnerHarness.StartAsync(fixture.Azurite, new Dictionary<string, string?> { ["RUNNER_VISIBILITY_TIMEOUT_SECONDS"] = "3" });
        var env = Path.Combine(runner.Paths.Envs, "renew");
        Assert.Equal(0, await RunnerHarness.RunToolAsync("python3", "-m", "venv", "--without-pip", Path.Combine(env, ".venv")));
        var dir = runner.ScriptDirectory(("main.py", "import time\nopen('runs.txt', 'a').write('run\\n')\ntime.sleep(7)\n"));
        var job = runner.Script(dir, env, "python main.py");

        var result = await runner.RunAsync(job);
        await Task.Delay(4000);

        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal("run\n", File.ReadAllText(Path.Combine(dir, "runs.txt")));
        Assert.Equal(1, runner.Sink.Count(job.JobId, RunnerEvents.Started));
        Assert.Equal(1, runner.Sink.Count(job.JobId, RunnerEvents.Completed));
    }
}
