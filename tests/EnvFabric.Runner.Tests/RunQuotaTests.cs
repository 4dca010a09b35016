using System.Globalization;
using System.Text.RegularExpressions;
using EnvFabric.Core.Runner;
using EnvFabric.Runner.Processes;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EnvFabric.Runner.Tests;

/// <summary>Run quotas on real processes: memory over the quota kills the run with the reason, CPU pins and throttles it.</summary>
[Collection(RunnerCollection.Name)]
public sealed partial class RunQuotaTests(RunnerFixture fixture)
{
    /// <summary>Allocates and touches ~300 MiB, holds it a moment, then ends normally.</summary>
    private const string Allocate300 =
        "import os, time\n"
        + "open('pid', 'w').write(f'{os.getpid()} {os.getpgid(0)}')\n"
        + "block = bytearray(300 * 1024 * 1024)\n"
        + "for i in range(0, len(block), 4096):\n    block[i] = 1\n"
        + "print('allocated', flush=True)\n"
        + "time.sleep(2)\n"
        + "print('done', len(block))\n";

    /// <summary>Spins until killed or until <c>seconds</c> of wall time passed.</summary>
    private const string Busy =
        "import os, sys, time\n"
        + "open('pid', 'w').write(str(os.getpid()))\n"
        + "end = time.monotonic() + float(sys.argv[1])\n"
        + "while time.monotonic() < end:\n    pass\n"
        + "print('spun')\n";

    private RunnerHarness Runner => fixture.Runner;

    [Fact]
    public async Task Memory_300MbOverA100MbQuota_KilledWithTheReasonAndTheGroupIsGone()
    {
        var dir = Runner.ScriptDirectory(("main.py", Allocate300));
        var job = Quota(Runner.Script(dir, fixture.ScriptEnvironment, "python main.py", timeoutSeconds: 120), memoryMb: 100);

        var result = await Runner.RunAsync(job);

        Assert.Equal(JobStatus.Failed, result.Status);
        var match = QuotaReason().Match(result.Error ?? "");
        Assert.True(match.Success, $"error: {result.Error}");
        var used = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(used > 100, $"used {used} MiB");
        Assert.Equal("100", match.Groups[2].Value);
        Assert.True(result.PeakMemoryMb > 100, $"peak {result.PeakMemoryMb}");
        Assert.Equal(128 + 9, result.ExitCode);
        Assert.DoesNotContain("done", result.StdoutTail);

        var ids = File.ReadAllText(Path.Combine(dir, "pid")).Split(' ').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        Assert.DoesNotContain(ProcFs.All(), p => (p.Pid == ids[0] || p.ProcessGroup == ids[1]) && p.State != 'Z');
        Assert.Contains("[envfabric] memory quota exceeded:", await Runner.ReadLogAsync(job.LogBlobName));
    }

    [Fact]
    public async Task Memory_300MbUnderA600MbQuota_Succeeds()
    {
        var dir = Runner.ScriptDirectory(("main.py", Allocate300));
        var job = Quota(Runner.Script(dir, fixture.ScriptEnvironment, "python main.py", timeoutSeconds: 120), memoryMb: 600);

        var result = await Runner.RunAsync(job);

        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Null(result.Error);
        Assert.Contains("done", result.StdoutTail);
        Assert.InRange(result.PeakMemoryMb, 250, 600);
    }

    [Fact]
    public async Task Memory_300MbWithoutAQuota_Succeeds()
    {
        var dir = Runner.ScriptDirectory(("main.py", Allocate300));
        var job = Runner.Script(dir, fixture.ScriptEnvironment, "python main.py", timeoutSeconds: 120);

        var result = await Runner.RunAsync(job);

        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Contains("done", result.StdoutTail);
        Assert.DoesNotContain("quota", await Runner.ReadLogAsync(job.LogBlobName));
    }

    [Fact]
    public async Task Memory_BurstBeyondTheAddressSpaceLimit_FailsWithTheQuotaReason()
    {
        // 4 GiB at once: refused by RLIMIT_AS (1124 MiB for a 100 MiB quota) before any sample could see it.
        var dir = Runner.ScriptDirectory(("main.py", "block = bytearray(4 * 1024 * 1024 * 1024)\nprint('allocated')\n"));
        var job = Quota(Runner.Script(dir, fixture.ScriptEnvironment, "python main.py", timeoutSeconds: 120), memoryMb: 100);

        var result = await Runner.RunAsync(job);

        Assert.Equal(JobStatus.Failed, result.Status);
        Assert.Matches(QuotaReason(), result.Error ?? "");
        Assert.Contains("an allocation failed under the run's address-space limit of 1124 MiB", result.Error);
        Assert.Contains("MemoryError", result.StderrTail);
    }

    [Fact]
    public async Task Cpu_OneCoreQuota_PinsTheRunToOneCoreRoundRobin()
    {
        var cores = CoreAllocator.ForThisProcess().Cores;
        var first = Runner.ScriptDirectory(("main.py", Busy));
        var second = Runner.ScriptDirectory(("main.py", Busy));
        var jobs = new[] { first, second }.Select(d => Quota(Runner.Script(d, fixture.ScriptEnvironment, "python main.py 60", timeoutSeconds: 120), cpu: 1)).ToArray();
        foreach (var job in jobs)
        {
            await Runner.Queue.EnqueueAsync(job);
        }

        var allowed = new List<string>();
        foreach (var dir in new[] { first, second })
        {
            var pid = await PidAsync(dir);
            allowed.Add(await AllowedCoresAsync(pid));
        }

        foreach (var job in jobs)
        {
            await Runner.Control.SendAsync(job.JobId, RunnerControlAction.Stop);
            Assert.Equal(JobStatus.Cancelled, (await Runner.Sink.WaitForCompletedAsync(job.JobId, TimeSpan.FromSeconds(60))).Status);
        }

        Assert.True(cores.Count >= 2, $"this test needs a runner with 2 cores or more, it has {cores.Count}");
        Assert.All(allowed, a => Assert.Single(CoreAllocator.ParseList(a)!));
        Assert.NotEqual(allowed[0], allowed[1]);
    }

    [Fact]
    public async Task Cpu_HalfACoreQuota_ThrottledWellUnderOneCore()
    {
        var dir = Runner.ScriptDirectory(("main.py", Busy));
        var job = Quota(Runner.Script(dir, fixture.ScriptEnvironment, "python main.py 4", timeoutSeconds: 120), cpu: 0.5);
        await Runner.Queue.EnqueueAsync(job);
        var pid = await PidAsync(dir);

        // Stopped for half of each 100 ms period: sampling for a while sees it stopped (T) at times.
        var states = new List<char>();
        for (var i = 0; i < 100 && states.Count(s => s == 'T') < 3; i++)
        {
            states.Add(ProcessState(pid));
            await Task.Delay(20);
        }

        var result = await Runner.Sink.WaitForCompletedAsync(job.JobId, TimeSpan.FromSeconds(60));

        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.True(states.Count(s => s == 'T') >= 3, "never seen stopped: " + new string([.. states]));
        var wall = (result.ProcessExitedAt!.Value - result.ProcessStartedAt!.Value).TotalSeconds;
        var share = result.CpuSeconds / wall;
        Assert.True(share < 0.8, $"{result.CpuSeconds} s of CPU in {wall} s");
        Assert.True(wall >= 4, $"wall {wall} s");
    }

    [Fact]
    public async Task Cpu_PausedRunWithAThrottle_StaysStoppedUntilResumed()
    {
        var dir = Runner.ScriptDirectory(("main.py", "import os, time\nopen('pid', 'w').write(str(os.getpid()))\ni = 0\nwhile True:\n    print('tick', i, flush=True)\n    i += 1\n    time.sleep(0.02)\n"));
        var job = Quota(Runner.Script(dir, fixture.ScriptEnvironment, "python main.py", timeoutSeconds: 120), cpu: 0.3);
        await Runner.Queue.EnqueueAsync(job);
        var pid = await PidAsync(dir);

        Assert.Equal(ControlDelivery.Sent, await Runner.Control.SendAsync(job.JobId, RunnerControlAction.Pause));
        await ScriptJobTests.WaitUntilAsync(async () => (await Runner.Jobs.GetAsync(job.JobId))!.Paused, TimeSpan.FromSeconds(10));

        // The throttle continues the group ten times a second when it runs: 2 s of samples would catch one.
        var paused = new List<char>();
        for (var i = 0; i < 100; i++)
        {
            paused.Add(ProcessState(pid));
            await Task.Delay(20);
        }

        Assert.True(paused.All(s => s == 'T'), "ran while paused: " + new string([.. paused]));

        Assert.Equal(ControlDelivery.Sent, await Runner.Control.SendAsync(job.JobId, RunnerControlAction.Resume));
        var resumed = new List<char>();
        for (var i = 0; i < 250 && !resumed.Contains('S') && !resumed.Contains('R'); i++)
        {
            resumed.Add(ProcessState(pid));
            await Task.Delay(20);
        }

        Assert.True(resumed.Contains('S') || resumed.Contains('R'), "never ran after the resume: " + new string([.. resumed]));
        await Runner.Control.SendAsync(job.JobId, RunnerControlAction.Stop);
        var result = await Runner.Sink.WaitForCompletedAsync(job.JobId, TimeSpan.FromSeconds(60));
        Assert.Equal(JobStatus.Cancelled, result.Status);
    }

    [Fact]
    public async Task Quota_NotPositive_RejectedWithoutRunning()
    {
        var dir = Runner.ScriptDirectory(("main.py", "open('ran', 'w').write('x')\n"));

        var memory = await Runner.RunAsync(Quota(Runner.Script(dir, fixture.ScriptEnvironment, "python main.py"), memoryMb: 0));
        var cpu = await Runner.RunAsync(Quota(Runner.Script(dir, fixture.ScriptEnvironment, "python main.py"), cpu: -1));

        Assert.Equal(JobStatus.Rejected, memory.Status);
        Assert.Equal("invalid memory quota 0 MiB (must be above 0)", memory.Error);
        Assert.Equal(JobStatus.Rejected, cpu.Status);
        Assert.Equal("invalid CPU quota -1 (must be above 0)", cpu.Error);
        Assert.False(File.Exists(Path.Combine(dir, "ran")));
    }

    [Fact]
    public async Task Runner_ReportsItsQuotaMechanism_InItsCapabilities()
    {
        var registry = (IRunnerRegistry)Runner.Services.GetService(typeof(IRunnerRegistry))!;
        RunnerInfo? self = null;
        await ScriptJobTests.WaitUntilAsync(async () => (self = (await registry.GetRunnersAsync()).FirstOrDefault(r => r.RunnerId == Runner.RunnerId)) is not null, TimeSpan.FromSeconds(30));

        Assert.StartsWith("run quotas: memory by the runner", self!.Capabilities.Quotas);
        Assert.Contains("cgroups are not used (", self.Capabilities.Quotas);
        Assert.Contains($"of the runner's {CoreAllocator.ForThisProcess().Cores.Count} core(s)", self.Capabilities.Quotas);

        // /api/health's runner component shows it, without turning the runner degraded.
        var check = new RunnerHealthCheck(registry, TimeProvider.System);
        var health = await check.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration("runner", check, HealthStatus.Unhealthy, null) });
        Assert.Equal(HealthStatus.Healthy, health.Status);
        Assert.Contains(self.Capabilities.Quotas, (string[])health.Data["quotas"]);
    }

    private static ScriptJob Quota(ScriptJob job, long? memoryMb = null, double? cpu = null) =>
        job with { Version = RunnerJob.QuotaVersion, MemoryLimitMb = memoryMb, CpuLimit = cpu };

    private static async Task<int> PidAsync(string dir)
    {
        var file = Path.Combine(dir, "pid");
        await ScriptJobTests.WaitUntilAsync(() => Task.FromResult(File.Exists(file) && File.ReadAllText(file).Length > 0), TimeSpan.FromSeconds(60));
        return int.Parse(File.ReadAllText(file).Split(' ')[0], CultureInfo.InvariantCulture);
    }

    private static async Task<string> AllowedCoresAsync(int pid)
    {
        string? allowed = null;
        await ScriptJobTests.WaitUntilAsync(
            () =>
            {
                allowed = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))?["Cpus_allowed_list:".Length..].Trim();
                return Task.FromResult(allowed is not null);
            },
            TimeSpan.FromSeconds(10));
        return allowed!;
    }

    private static char ProcessState(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            return text[text.LastIndexOf(')') + 2];
        }
        catch (IOException)
        {
            return '?';
        }
    }

    [GeneratedRegex(@"^memory quota exceeded: (\d+) MiB used, quota (\d+) MiB")]
    private static partial Regex QuotaReason();
}
