using EnvFabric.Core.Runner;

namespace EnvFabric.Runner.Tests;

[Collection(RunnerCollection.Name)]
public sealed class ScriptJobTests(RunnerFixture fixture)
{
    private RunnerHarness Runner => fixture.Runner;

    [Fact]
    public async Task Script_DefaultCommand_RunsMainPyInEnvironmentAndReportsExitCode()
    {
        var dir = Runner.ScriptDirectory(("main.py", "import sys\nprint('hello from', sys.prefix)\nprint('to stderr', file=sys.stderr)\nsys.exit(3)\n"));
        var job = Runner.Script(dir, fixture.ScriptEnvironment, ScriptJob.DefaultCommand);

        var result = await Runner.RunAsync(job);

        Assert.Equal(JobStatus.Failed, result.Status);
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("hello from " + Path.Combine(fixture.ScriptEnvironment, ".venv"), result.StdoutTail);
        Assert.Contains("to stderr", result.StderrTail);
        var log = await Runner.ReadLogAsync(job.LogBlobName);
        Assert.Contains("hello from", log);
        Assert.True(RunnerLogs.IsComplete(log));
        Assert.EndsWith($"{RunnerLogs.CompletionMarker} job={job.JobId} status=failed exit_code=3\n", log);
        Assert.Equal(1, Runner.Sink.Count(job.JobId, RunnerEvents.Started));
        Assert.Equal(1, Runner.Sink.Count(job.JobId, RunnerEvents.Completed));
    }

    [Fact]
    public async Task Script_QuotedArgumentsAndEnvironment_ReachTheProcessWithoutAShell()
    {
        var dir = Runner.ScriptDirectory(("show.py", "import os, sys, json\nprint(json.dumps({'argv': sys.argv[1:], 'greeting': os.environ.get('GREETING'), 'token': os.environ.get('API_TOKEN'), 'storage': os.environ.get('AzureWebJobsStorage')}))\n"));
        var job = Runner.Script(dir, fixture.ScriptEnvironment, "python show.py 'two words' \"a \\\"quoted\\\" one\" $HOME ';' '|' plain") with
        {
            EnvironmentVariables = new Dictionary<string, string> { ["GREETING"] = "hi" },
            Secrets = new Dictionary<string, string> { ["API_TOKEN"] = "s3cr3t-value-123" },
        };

        var result = await Runner.RunAsync(job);

        Assert.Equal(JobStatus.Succeeded, result.Status);
        var output = System.Text.Json.JsonDocument.Parse(result.StdoutTail.Replace("***", "\"masked\"", StringComparison.Ordinal).Trim()).RootElement;
        Assert.Equal(new[] { "two words", "a \"quoted\" one", "$HOME", ";", "|", "plain" }, output.GetProperty("argv").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal("hi", output.GetProperty("greeting").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, output.GetProperty("storage").ValueKind);
        var log = await Runner.ReadLogAsync(job.LogBlobName);
        Assert.DoesNotContain("s3cr3t-value-123", log);
        Assert.Contains("API_TOKEN=***", log);
    }

    [Fact]
    public async Task Script_LongRunning_ReaderSeesOutputWhileProcessRuns()
    {
        var dir = Runner.ScriptDirectory(("main.py", "import time\nprint('first line', flush=True)\nwhile True:\n    time.sleep(0.1)\n"));
        var job = Runner.Script(dir, fixture.ScriptEnvironment, "python main.py");
        await Runner.Queue.EnqueueAsync(job);
        await Runner.Sink.WaitForStartedAsync(job.JobId, TimeSpan.FromSeconds(30));

        var chunk = await PollLogAsync(job.LogBlobName, text => text.Contains("first line"), TimeSpan.FromSeconds(20));

        Assert.Contains("first line", chunk);
        Assert.False(RunnerLogs.IsComplete(chunk));
        var row = await Runner.Jobs.GetAsync(job.JobId);
        Assert.Equal(RunnerJobStates.Running, row!.State);

        Assert.Equal(ControlDelivery.Sent, await Runner.Control.SendAsync(job.JobId, RunnerControlAction.Stop));
        var result = await Runner.Sink.WaitForCompletedAsync(job.JobId, TimeSpan.FromSeconds(30));
        Assert.Equal(JobStatus.Cancelled, result.Status);
        Assert.True(RunnerLogs.IsComplete(await Runner.ReadLogAsync(job.LogBlobName)));
    }

    [Fact]
    public async Task Script_Timeout_KillsWholeTreeIncludingChildIgnoringSigterm()
    {
        var dir = Runner.ScriptDirectory(
            ("main.py", "import subprocess, sys, time\nchild = subprocess.Popen([sys.executable, 'stubborn.py'])\nopen('child.pid', 'w').write(str(child.pid))\nprint('parent waiting', flush=True)\nchild.wait()\n"),
            ("stubborn.py", "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.1)\n"));
        var job = Runner.Script(dir, fixture.ScriptEnvironment, "python main.py", timeoutSeconds: 2);

        var result = await Runner.RunAsync(job);

        Assert.Equal(JobStatus.TimedOut, result.Status);
        var childPid = int.Parse(File.ReadAllText(Path.Combine(dir, "child.pid")));
        Assert.False(IsAlive(childPid), $"child {childPid} survived the timeout");
        Assert.Contains("timed out", await Runner.ReadLogAsync(job.LogBlobName));
    }

    [Fact]
    public async Task Script_PauseThenResume_FreezesOutputThenContinues()
    {
        var dir = Runner.ScriptDirectory(("main.py", "import os, time\nopen('pid', 'w').write(str(os.getpid()))\ni = 0\nwhile i < 400:\n    print('tick', i, flush=True)\n    i += 1\n    time.sleep(0.05)\n"));
        var job = Runner.Script(dir, fixture.ScriptEnvironment, "python main.py");
        await Runner.Queue.EnqueueAsync(job);
        await PollLogAsync(job.LogBlobName, t => t.Contains("tick 3\n"), TimeSpan.FromSeconds(20));
        var pid = int.Parse(File.ReadAllText(Path.Combine(dir, "pid")));

        Assert.Equal(ControlDelivery.Sent, await Runner.Control.SendAsync(job.JobId, RunnerControlAction.Pause));
        await WaitUntilAsync(async () => (await Runner.Jobs.GetAsync(job.JobId))!.Paused, TimeSpan.FromSeconds(10));

        // Stopped (state T), the process cannot print; what it printed before reaches the blob within a flush, so
        // wait for the log to settle, then check that it stays as it is while the process stays stopped.
        await WaitUntilAsync(() => Task.FromResult(ProcessState(pid) == 'T'), TimeSpan.FromSeconds(30));
        var frozen = await SettledLogAsync(job.LogBlobName);
        await Task.Delay(1200);
        var stillFrozen = await Runner.ReadLogAsync(job.LogBlobName);
        Assert.Equal('T', ProcessState(pid));
        Assert.Equal(frozen, stillFrozen);

        Assert.Equal(ControlDelivery.Sent, await Runner.Control.SendAsync(job.JobId, RunnerControlAction.Resume));
        var resumed = await PollLogAsync(job.LogBlobName, t => t.Length > stillFrozen.Length + 20, TimeSpan.FromSeconds(10));
        Assert.StartsWith(stillFrozen, resumed);

        await Runner.Control.SendAsync(job.JobId, RunnerControlAction.Stop);
        var result = await Runner.Sink.WaitForCompletedAsync(job.JobId, TimeSpan.FromSeconds(30));
        Assert.Equal(JobStatus.Cancelled, result.Status);
    }

    [Fact]
    public async Task Script_Allocates100Mb_ReportsPeakWithin20Percent()
    {
        var dir = Runner.ScriptDirectory(("main.py", "import time\nblock = b'\\x01' * (100 * 1024 * 1024)\ntime.sleep(1.5)\nprint(len(block))\n"));
        var job = Runner.Script(dir, fixture.ScriptEnvironment, "python main.py");

        var result = await Runner.RunAsync(job);

        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.InRange(result.PeakMemoryMb, 80, 120);
        Assert.True(result.AverageMemoryMb > 5 && result.AverageMemoryMb <= result.PeakMemoryMb, $"average {result.AverageMemoryMb}");
        Assert.True(result.CpuSeconds > 0, "cpu seconds");
    }

    [Fact]
    public async Task Script_Allocates200MbAndExitsAtOnce_ReportsExactPeakAndCpuFromTheKernel()
    {
        // Sampling every 60 s: the job is long over before any sample, so the figures can only come from its exit.
        await using var runner = await RunnerHarness.StartAsync(fixture.Azurite, new Dictionary<string, string?> { ["RUNNER_SAMPLE_MS"] = "60000" });
        var env = Path.Combine(runner.Paths.Envs, "short-peak");
        Assert.Equal(0, await RunnerHarness.RunToolAsync("python3", "-m", "venv", "--without-pip", Path.Combine(env, ".venv")));
        var dir = runner.ScriptDirectory(("main.py", "import sys\nblock = bytearray(200 * 1024 * 1024)\nfor i in range(0, len(block), 4096):\n    block[i] = 1\nsys.exit(4)\n"));
        var job = runner.Script(dir, env, "python main.py");

        var result = await runner.RunAsync(job);

        Assert.Equal(JobStatus.Failed, result.Status);
        Assert.Equal(4, result.ExitCode);
        Assert.True(result.PeakMemoryMb is >= 180 and < 400, $"peak {result.PeakMemoryMb} MB");
        Assert.True(result.AverageMemoryMb > 0 && result.AverageMemoryMb <= result.PeakMemoryMb, $"average {result.AverageMemoryMb} MB");

        // Touching 51,200 pages costs CPU time; a process cannot use more of one core than it lived.
        var lived = (result.ProcessExitedAt!.Value - result.ProcessStartedAt!.Value).TotalSeconds;
        Assert.True(result.CpuSeconds >= 0.02 && result.CpuSeconds <= lived + 0.05, $"cpu {result.CpuSeconds} s in {lived} s");
    }

    [Fact]
    public async Task Script_KilledBySignal_ExitCodeIs128PlusSignal()
    {
        var dir = Runner.ScriptDirectory(("main.py", "import os, signal\nprint('going', flush=True)\nos.kill(os.getpid(), signal.SIGTERM)\n"));
        var job = Runner.Script(dir, fixture.ScriptEnvironment, "python main.py");

        var result = await Runner.RunAsync(job);

        Assert.Equal(JobStatus.Failed, result.Status);
        Assert.Equal(128 + 15, result.ExitCode);
        Assert.Contains("going", result.StdoutTail);
    }

    [Fact]
    public async Task Script_BadCommandOrPathOutsideShare_RejectedWithoutRunning()
    {
        var dir = Runner.ScriptDirectory(("main.py", "open('ran', 'w').write('x')\n"));
        var unterminated = await Runner.RunAsync(Runner.Script(dir, fixture.ScriptEnvironment, "python 'main.py"));
        var outside = await Runner.RunAsync(Runner.Script("/tmp", fixture.ScriptEnvironment, "python main.py"));
        var missing = await Runner.RunAsync(Runner.Script(dir, fixture.ScriptEnvironment, "no-such-program-here"));

        Assert.Equal(JobStatus.Rejected, unterminated.Status);
        Assert.Contains("unterminated single quote", unterminated.Error);
        Assert.Equal(JobStatus.Rejected, outside.Status);
        Assert.False(File.Exists(Path.Combine(dir, "ran")));
        Assert.Equal(JobStatus.Failed, missing.Status);
        Assert.Equal(127, missing.ExitCode);
        Assert.Equal("command not found: no-such-program-here", missing.Error);
    }

    [Fact]
    public async Task Job_RedeliveredAfterFinishing_NotRunAgainAndSameResultReported()
    {
        var dir = Runner.ScriptDirectory(("main.py", "open('runs.txt', 'a').write('run\\n')\nprint('done')\n"));
        var job = Runner.Script(dir, fixture.ScriptEnvironment, "python main.py");
        var first = await Runner.RunAsync(job);

        // The same message again, as a queue redelivers it after a lost delete.
        await Runner.Queue.EnqueueAsync(job);
        await WaitUntilAsync(() => Task.FromResult(Runner.Sink.Count(job.JobId, RunnerEvents.Completed) == 2), TimeSpan.FromSeconds(30));

        Assert.Equal("run\n", File.ReadAllText(Path.Combine(dir, "runs.txt")));
        var completions = Runner.Sink.Events.Where(e => e.JobId == job.JobId && e.Name == RunnerEvents.Completed).Select(e => ((JobCompletedEvent)e.Payload).Result).ToList();
        Assert.All(completions, r => Assert.Equal(first.FinishedAt, r.FinishedAt));
        Assert.Equal(1, Runner.Sink.Count(job.JobId, RunnerEvents.Started));
    }

    [Fact]
    public async Task Job_StopRequestedBeforeItStarts_NotRun()
    {
        var dir = Runner.ScriptDirectory(("main.py", "open('ran', 'w').write('x')\n"));
        var job = Runner.Script(dir, fixture.ScriptEnvironment, "python main.py");
        Assert.Equal(ControlDelivery.Recorded, await Runner.Control.SendAsync(job.JobId, RunnerControlAction.Stop));

        var result = await Runner.RunAsync(job);

        Assert.Equal(JobStatus.Cancelled, result.Status);
        Assert.False(File.Exists(Path.Combine(dir, "ran")));
        Assert.Equal(ControlDelivery.AlreadyFinished, await Runner.Control.SendAsync(job.JobId, RunnerControlAction.Stop));
    }

    [Fact]
    public async Task Job_Running_HeartbeatsWithMetrics()
    {
        var dir = Runner.ScriptDirectory(("main.py", "import time\ntime.sleep(2.5)\n"));
        var job = Runner.Script(dir, fixture.ScriptEnvironment, "python main.py");

        var result = await Runner.RunAsync(job);

        Assert.Equal(JobStatus.Succeeded, result.Status);
        var beats = Runner.Sink.Events.Where(e => e.JobId == job.JobId && e.Name == RunnerEvents.Heartbeat).Select(e => (JobHeartbeatEvent)e.Payload).ToList();
        Assert.True(beats.Count >= 2, $"{beats.Count} heartbeats");
        Assert.All(beats, b => Assert.Equal(Runner.RunnerId, b.RunnerId));
        Assert.Contains(beats, b => b.CurrentMemoryMb > 1);
        var row = await Runner.Jobs.GetAsync(job.JobId);
        Assert.Equal(RunnerJobStates.Finished, row!.State);
        Assert.Equal(JobStatus.Succeeded, row.Result!.Status);
    }

    [Fact]
    public async Task Job_Running_SampledMemoryIsTheJobsNotTheReapers()
    {
        // sleep is ~2 MB resident; the Python reaper above it, ~7 MB more, must not show in the samples.
        var job = Runner.Script(Runner.ScriptDirectory(), fixture.ScriptEnvironment, "sleep 2");

        var result = await Runner.RunAsync(job);

        Assert.Equal(JobStatus.Succeeded, result.Status);
        var beats = Runner.Sink.Events.Where(e => e.JobId == job.JobId && e.Name == RunnerEvents.Heartbeat).Select(e => (JobHeartbeatEvent)e.Payload).ToList();
        Assert.Contains(beats, b => b.CurrentMemoryMb > 0);
        Assert.All(beats, b => Assert.True(b.CurrentMemoryMb < 5, $"current {b.CurrentMemoryMb} MB"));
    }

    private async Task<string> PollLogAsync(string blob, Func<string, bool> until, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var text = await Runner.ReadLogAsync(blob);
            if (until(text))
            {
                return text;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("log never matched; it was: " + text);
            }

            await Task.Delay(50);
        }
    }

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not met in " + timeout);
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The log once two reads a second apart agree (within a minute).</summary>
    private async Task<string> SettledLogAsync(string blob)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        var last = await Runner.ReadLogAsync(blob);
        while (true)
        {
            await Task.Delay(1000);
            var now = await Runner.ReadLogAsync(blob);
            if (now == last)
            {
                return now;
            }

            Assert.True(DateTime.UtcNow < deadline, "the log never settled");
            last = now;
        }
    }

    /// <summary>The state letter of /proc/{pid}/stat (R, S, T, Z...), or '?' when the process is gone.</summary>
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

    private static bool IsAlive(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return false;
        }

        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
