using System.Diagnostics;
using EnvFabric.Runner.Processes;
using EnvFabric.Testing;

namespace EnvFabric.Runner.Tests;

/// <summary>job-reaper.py run for real, as the runner starts it, without the rest of the runner.</summary>
public sealed class JobReaperTests : IDisposable
{
    private static readonly string Python = JobReaper.FindInterpreter(Environment.GetEnvironmentVariable("PATH") ?? "")
        ?? throw new InvalidOperationException("no python3 on PATH can run the reaper");

    private readonly TempDirectory _work = new("envfabric-reaper-test");

    [Fact]
    public async Task Reaper_JobExits_SameExitCodeAndReport()
    {
        var run = await RunAsync("sh", "-c", "exit 7");

        Assert.Equal(7, run.ExitCode);
        Assert.NotNull(run.Report);
        Assert.Equal(7 << 8, run.Report.WaitStatus);
        Assert.Equal(0, run.Report.ExecErrno);
        Assert.False(run.Report.CommandNotFound);
        Assert.True(run.Report.MaxRssBytes > 0);
    }

    [Fact]
    public async Task Reaper_JobKilledBySignal_EndsByTheSameSignal()
    {
        var run = await RunAsync("sh", "-c", "kill -TERM $$");

        Assert.Equal(128 + 15, run.ExitCode);
        Assert.Equal(15, run.Report!.WaitStatus);
    }

    [Fact]
    public async Task Reaper_ProgramNotOnPath_127CommandNotFound()
    {
        var run = await RunAsync("no-such-program-here");

        Assert.Equal(127, run.ExitCode);
        Assert.True(run.Report!.CommandNotFound);
        Assert.Contains("failed to execute no-such-program-here: No such file or directory", run.Stderr);
    }

    [Fact]
    public async Task Reaper_ExecutableWithoutShebang_RunBySh()
    {
        var script = Path.Combine(_work.Path, "plain");
        File.WriteAllText(script, "echo plain ran with \"$1\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var run = await RunAsync("./plain", "one");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("plain ran with one\n", run.Stdout);
    }

    [Fact]
    public async Task Reaper_Job_ItsChildInItsNewSessionAndGroup()
    {
        // stat fields 4-6: parent, process group, session.
        var run = await RunAsync("cut", "-d", " ", "-f4-6", "/proc/self/stat");

        Assert.Equal($"{run.Pid} {run.Pid} {run.Pid}\n", run.Stdout);
    }

    [Fact]
    public async Task Reaper_Job_StartsWithDefaultSignalsThoughTheReaperIgnoresSome()
    {
        var run = await RunAsync("grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status");

        Assert.Equal("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", run.Stdout);
    }

    [Fact]
    public async Task Reaper_SigtermToTheGroup_JobEndsAndReaperEndsAsItDid()
    {
        var run = await RunAsync(["sleep", "60"], async process =>
        {
            // The reaper ignores SIGTERM; only once its child runs does the group signal reach the job.
            await ScriptJobTests.WaitUntilAsync(() => Task.FromResult(Children(process.Id).Count > 0), TimeSpan.FromSeconds(30));
            Assert.Equal(0, Native.Kill(-process.Id, Native.SigTerm));
        });

        Assert.Equal(128 + 15, run.ExitCode);
        Assert.Equal(15, run.Report!.WaitStatus);
    }

    [Fact]
    public async Task Reaper_WithAQuota_JobPinnedAndAddressSpaceLimitedItsChildrenToo()
    {
        var run = await RunAsync(
            [Python, "-c", "import os, resource, subprocess, sys\nprint(sorted(os.sched_getaffinity(0)), resource.getrlimit(resource.RLIMIT_AS))\nsys.stdout.flush()\nsubprocess.run(['grep', '-E', '^Cpus_allowed_list:', '/proc/self/status'])\n"],
            _ => Task.CompletedTask,
            cores: [0],
            addressSpaceBytes: 1536L * 1024 * 1024);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal($"[0] ({1536L * 1024 * 1024}, {1536L * 1024 * 1024})\nCpus_allowed_list:\t0\n", run.Stdout);
    }

    [Fact]
    public async Task Reaper_QuotaThatCannotBeSet_StartFailsWithTheReason()
    {
        // No such core: the job must not start without the quota.
        var run = await RunAsync(["true"], _ => Task.CompletedTask, cores: [4095], addressSpaceBytes: null);

        Assert.Equal(126, run.ExitCode);
        Assert.Contains("envfabric: could not apply the run's quota:", run.Stderr);
    }

    [Fact]
    public void Parse_MissingOrMalformedField_Null()
    {
        Assert.Equal(new ReaperReport(2048, 0.25, 0, 0), ReaperReport.Parse("maxrss_kb=2 cpu_seconds=0.250000 status=0 exec_errno=0\n"));
        Assert.Null(ReaperReport.Parse("maxrss_kb=2 cpu_seconds=0.25 status=0\n"));
        Assert.Null(ReaperReport.Parse("maxrss_kb=two cpu_seconds=0.25 status=0 exec_errno=0\n"));
        Assert.Null(ReaperReport.Parse(""));
    }

    public void Dispose() => _work.Dispose();

    private Task<Run> RunAsync(params string[] argv) => RunAsync(argv, _ => Task.CompletedTask);

    private async Task<Run> RunAsync(string[] argv, Func<Process, Task> whileRunning, IReadOnlyList<int>? cores = null, long? addressSpaceBytes = null)
    {
        var report = Path.Combine(_work.Path, "report-" + Guid.NewGuid().ToString("N"));
        var script = Path.Combine(AppContext.BaseDirectory, JobReaper.ScriptName);
        var start = new ProcessStartInfo(Python) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _work.Path };
        foreach (var arg in JobReaper.Arguments(script, report, argv, cores, addressSpaceBytes))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await whileRunning(process);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            if (!process.HasExited)
            {
                Native.Kill(-process.Id, Native.SigKill);
            }
        }

        return new Run(process.Id, process.ExitCode, await stdout, await stderr, ReaperReport.ReadAndDelete(report));
    }

    private static List<int> Children(int pid) =>
        [.. ProcFs.All().Where(p => p.ParentPid == pid && p.State != 'Z').Select(p => p.Pid)];

    private sealed record Run(int Pid, int ExitCode, string Stdout, string Stderr, ReaperReport? Report);
}
