using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

/// <summary>
/// Seed 003's triggers over HTTP with the real runner: delay, cron with seconds, interval and date runs that never
/// start early, stop/pause/resume and their refusals, retries, timeouts and manual triggers.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class TaskScheduleTests(AzuriteFixture azurite)
{
    private const string Env = "tasks";
    private const string Quick = "print('tick')\n";
    private const string Sleeper = "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n";

    // Durable timers and the runner's pickup are slow on a loaded machine; bounds are generous, quiet windows short.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(4.5);

    [Fact]
    public async Task DelaySeconds_RunsOnceNotBeforeItsDueTime_Completed()
    {
        await using var host = await StartAsync();
        var (created, body) = await host.CreateTaskAsync(Quick, Fields("delayed", ("delay_seconds", "3")));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var task = body!["task"]!;
        var id = task["task_id"]!.GetValue<long>();
        var createdAt = task["created_at"].ParseApiTime();
        Assert.Equal(createdAt.AddSeconds(3), task["next_run_time"].ParseApiTime());

        var detail = await host.WaitForTaskAsync(id, d => d.HasFinished() && d["task"]!["status"]!.GetValue<string>() == "completed", Bound, "a completed delayed run");
        var run = detail.Executions().Single()!;
        Assert.Equal("delay", run["trigger"]!.GetValue<string>());
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.True(run["start_time"].ParseApiTime() >= createdAt.AddSeconds(3), run.ToJsonString());

        var stored = (await host.StoredExecutionsAsync(id)).Single();
        AssertNotEarly(stored);
        Assert.True(stored.DueAt - stored.QueuedAt <= TimeSpan.Zero, $"queued {stored.QueuedAt:O} before due {stored.DueAt:O}");
    }

    [Fact]
    public async Task CronWithSeconds_RunsOnEvenSecondsUntilStopped_StopTwiceRefused()
    {
        await using var host = await StartAsync();
        var id = await host.CreateTaskOkAsync(Quick, Fields("every-two", ("cron_expression", "*/2 * * * * *")));

        var statuses = new List<string>();
        await host.WaitForTaskAsync(
            id,
            d =>
            {
                statuses.Add(d["task"]!["status"]!.GetValue<string>());
                return d.ExecutionsBy("cron").Count(e => e["status"]!.GetValue<string>() == "completed") >= 2;
            },
            Bound,
            "two completed cron runs");
        Assert.All(statuses, s => Assert.Contains(s, new[] { "scheduled", "running" }));
        Assert.Contains("scheduled", statuses);

        var stored = await host.StoredExecutionsAsync(id);
        Assert.All(stored, e => Assert.Equal("cron", e.Trigger));
        foreach (var e in stored)
        {
            Assert.True(e.DueAt.Second % 2 == 0 && e.DueAt.Millisecond == 0, $"due {e.DueAt:O} is not an even second");
            AssertNotEarly(e);
        }

        var (stopped, stopBody) = await host.ControlAsync(id, "stop");
        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        Assert.True(stopBody!["success"]!.GetValue<bool>());
        Assert.Equal("Task stopped successfully", stopBody["message"]!.GetValue<string>());
        Assert.Equal(id, stopBody["task"]!["task_id"]!.GetValue<long>());
        Assert.Equal("every-two", stopBody["task"]!["task_name"]!.GetValue<string>());
        Assert.Equal("stopped", stopBody["task"]!["status"]!.GetValue<string>());
        Assert.Contains(stopBody["task"]!["previous_status"]!.GetValue<string>(), new[] { "scheduled", "running" });

        // A run stopped in flight ends (cancelled); after that nothing new is recorded.
        await host.WaitForTaskAsync(id, d => d.Executions().All(e => e!.IsFinal()), Bound, "every run final after stop");
        await host.AssertNoNewExecutionsAsync(id, Quiet);
        var (_, after) = await host.SendAsync(HttpMethod.Get, $"/api/tasks/{id}");
        Assert.Equal("stopped", after!["task"]!["status"]!.GetValue<string>());
        Assert.Null(after["task"]!["next_run_time"]);

        var (again, againBody) = await host.ControlAsync(id, "stop");
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.False(againBody!["success"]!.GetValue<bool>());
        Assert.Equal("Task cannot be stopped", againBody["message"]!.GetValue<string>());
        Assert.Equal("Cannot stop a task with status: 'stopped'", againBody["error"]!.GetValue<string>());
        Assert.Equal("stopped", againBody["current_status"]!.GetValue<string>());
    }

    [Fact]
    public async Task IntervalSeconds_RunsRepeatedly_TriggerInterval()
    {
        await using var host = await StartAsync();
        var id = await host.CreateTaskOkAsync(Quick, Fields("every-interval", ("interval_seconds", "2")));

        var detail = await host.WaitForTaskAsync(
            id, d => d.ExecutionsBy("interval").Count(e => e["status"]!.GetValue<string>() == "completed") >= 2, Bound, "two completed interval runs");
        Assert.All(detail.Executions(), e => Assert.Equal("interval", e!["trigger"]!.GetValue<string>()));
        foreach (var e in await host.StoredExecutionsAsync(id))
        {
            AssertNotEarly(e);
        }

        var (stopped, _) = await host.ControlAsync(id, "stop");
        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
    }

    [Fact]
    public async Task RunAt_RunsOnceNotBeforeIt_TriggerDate()
    {
        await using var host = await StartAsync();
        var runAt = DateTimeOffset.UtcNow.AddSeconds(4);
        runAt = new DateTimeOffset(runAt.Ticks - (runAt.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        var (created, body) = await host.CreateTaskAsync(Quick, Fields("dated", ("run_at", runAt.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture))));
        Assert.True(created.StatusCode == HttpStatusCode.Created, body?.ToJsonString());
        var id = body!["task"]!["task_id"]!.GetValue<long>();
        Assert.Equal(runAt, body["task"]!["next_run_time"].ParseApiTime());

        var detail = await host.WaitForTaskAsync(id, d => d.HasFinished() && d["task"]!["status"]!.GetValue<string>() == "completed", Bound, "a completed dated run");
        var run = detail.Executions().Single()!;
        Assert.Equal("date", run["trigger"]!.GetValue<string>());
        Assert.True(run["start_time"].ParseApiTime() >= runAt, run.ToJsonString());
        var stored = (await host.StoredExecutionsAsync(id)).Single();
        Assert.Equal(runAt, stored.DueAt);
        AssertNotEarly(stored);
    }

    [Fact]
    public async Task Pause_ScheduledCron_NoRunsUntilResumed_ResumeOfUnpausedRefused()
    {
        await using var host = await StartAsync();
        var id = await host.CreateTaskOkAsync(Quick, Fields("pausable", ("cron_expression", "*/2 * * * * *")));
        await host.WaitForTaskAsync(id, d => d.HasFinished() && d["task"]!["status"]!.GetValue<string>() == "scheduled", Bound, "a finished cron run, scheduled again");

        var (paused, pauseBody) = await host.ControlAsync(id, "pause");
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        Assert.Equal("Task paused successfully", pauseBody!["message"]!.GetValue<string>());
        Assert.Equal("paused", pauseBody["task"]!["status"]!.GetValue<string>());
        Assert.Contains(pauseBody["task"]!["previous_status"]!.GetValue<string>(), new[] { "scheduled", "running" });

        // A run whose start raced the pause may still be recorded in the first moment; then the count must hold.
        await Task.Delay(TimeSpan.FromSeconds(1));
        await host.AssertNoNewExecutionsAsync(id, Quiet);
        var (_, detail) = await host.SendAsync(HttpMethod.Get, $"/api/tasks/{id}");
        Assert.Equal("paused", detail!["task"]!["status"]!.GetValue<string>());
        var completedBefore = Completed(detail);

        var (resumed, resumeBody) = await host.ControlAsync(id, "resume");
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        Assert.Equal("Task resumed successfully", resumeBody!["message"]!.GetValue<string>());
        Assert.Equal("paused", resumeBody["task"]!["previous_status"]!.GetValue<string>());
        Assert.Contains(resumeBody["task"]!["status"]!.GetValue<string>(), new[] { "scheduled", "running" });
        await host.WaitForTaskAsync(id, d => Completed(d) > completedBefore, Bound, "a cron run after resume");

        var (again, againBody) = await host.ControlAsync(id, "resume");
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Equal("Task is not paused", againBody!["message"]!.GetValue<string>());
        var current = againBody["current_status"]!.GetValue<string>();
        Assert.Contains(current, new[] { "scheduled", "running" });
        Assert.Equal($"Cannot resume a task with status: '{current}'", againBody["error"]!.GetValue<string>());

        var (stopped, _) = await host.ControlAsync(id, "stop");
        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
    }

    [Fact]
    public async Task Retries_FailingScript_ThreeFailedAttempts_TaskFailed()
    {
        await using var host = await StartAsync();
        var id = await host.CreateTaskOkAsync("import sys\nprint('failing')\nsys.exit(1)\n", Fields("always-fails", ("max_retries", "2"), ("retry_interval_seconds", "1")));

        var detail = await host.WaitForTaskAsync(id, d => d.HasFinished(3) && d["task"]!["status"]!.GetValue<string>() == "failed", Bound, "three failed attempts");
        var runs = detail.Executions().Select(e => e!).OrderBy(e => e["attempt"]!.GetValue<int>()).ToList();
        Assert.Equal([1, 2, 3], runs.Select(e => e["attempt"]!.GetValue<int>()));
        Assert.Equal(["manual", "retry", "retry"], runs.Select(e => e["trigger"]!.GetValue<string>()));
        Assert.All(runs, e => Assert.Equal("failed", e["status"]!.GetValue<string>()));
        Assert.All(runs, e => Assert.Equal(1, e["exit_code"]!.GetValue<int>()));

        // Each retry waits its interval after the previous attempt ended.
        var stored = await host.StoredExecutionsAsync(id);
        for (var i = 1; i < stored.Count; i++)
        {
            Assert.True(stored[i].QueuedAt >= stored[i - 1].EndTime!.Value.AddSeconds(1) - TimeSpan.FromMilliseconds(50), $"attempt {i + 1} queued {stored[i].QueuedAt:O}, previous ended {stored[i - 1].EndTime:O}");
        }
    }

    [Fact]
    public async Task Retries_FailsOnceThenSucceeds_TwoAttempts_TaskCompleted()
    {
        await using var host = await StartAsync();
        const string FailsOnce = "import os, sys\nif not os.path.exists('attempted'):\n    open('attempted', 'w').write('1')\n    sys.exit(1)\nprint('second time lucky')\n";
        var id = await host.CreateTaskOkAsync(FailsOnce, Fields("fails-once", ("max_retries", "2"), ("retry_interval_seconds", "1")));

        var detail = await host.WaitForTaskAsync(id, d => d.HasFinished(2) && d["task"]!["status"]!.GetValue<string>() == "completed", Bound, "a failed then a completed attempt");
        var runs = detail.Executions().Select(e => e!).OrderBy(e => e["attempt"]!.GetValue<int>()).ToList();
        Assert.Equal(2, runs.Count);
        Assert.Equal(["failed", "completed"], runs.Select(e => e["status"]!.GetValue<string>()));
        Assert.Equal(["manual", "retry"], runs.Select(e => e["trigger"]!.GetValue<string>()));
        Assert.Contains("second time lucky", detail["latest_execution"]!["logs"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Timeout_SleepingScript_TimedOutAndProcessGone()
    {
        await using var host = await StartAsync();
        var id = await host.CreateTaskOkAsync(Sleeper, Fields("sleeper", ("timeout_seconds", "2")));

        var detail = await host.WaitForTaskAsync(id, d => d.HasFinished(), TimeSpan.FromSeconds(50), "the run to time out (well before the script's 60 s)");
        var run = detail.Executions().Single()!;
        Assert.Equal("timeout", run["status"]!.GetValue<string>());
        Assert.Contains("timed out", run["error"]?.GetValue<string>() ?? "", StringComparison.OrdinalIgnoreCase);
        Assert.True(run["end_time"].ParseApiTime() - run["start_time"].ParseApiTime() < TimeSpan.FromSeconds(30), run.ToJsonString());

        var directory = Path.GetFullPath(Path.Combine(host.Share.Path, "scripts", id.ToString(CultureInfo.InvariantCulture)));
        Assert.True(
            await EnvironmentHostForTests.EventuallyAsync(() => Task.FromResult(ProcessesIn(directory).Count == 0), TimeSpan.FromSeconds(30)),
            $"processes left in {directory}: {string.Join(", ", ProcessesIn(directory))}");
    }

    [Fact]
    public async Task Trigger_CompletedOneShot_NewManualRun_RunningTaskRefused()
    {
        await using var host = await StartAsync();
        var id = await host.CreateTaskOkAsync(Quick, Fields("one-shot"));
        await host.WaitForTaskAsync(id, d => d.HasFinished() && d["task"]!["status"]!.GetValue<string>() == "completed", Bound, "the first run completed");

        var (triggered, triggerBody) = await host.ControlAsync(id, "trigger");
        Assert.Equal(HttpStatusCode.OK, triggered.StatusCode);
        Assert.Equal("Task triggered successfully", triggerBody!["message"]!.GetValue<string>());
        Assert.Equal("running", triggerBody["task"]!["status"]!.GetValue<string>());
        Assert.Equal("completed", triggerBody["task"]!["previous_status"]!.GetValue<string>());
        var detail = await host.WaitForTaskAsync(id, d => d.HasFinished(2), Bound, "the triggered run finished");
        Assert.All(detail.Executions(), e => Assert.Equal("manual", e!["trigger"]!.GetValue<string>()));
        Assert.Equal("completed", detail["latest_execution"]!["status"]!.GetValue<string>());

        var sleeper = await host.CreateTaskOkAsync(Sleeper, Fields("long-one"));
        await host.WaitForTaskAsync(sleeper, d => d["task"]!["status"]!.GetValue<string>() == "running", Bound, "the sleeper running");
        var (refused, refusedBody) = await host.ControlAsync(sleeper, "trigger");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.False(refusedBody!["success"]!.GetValue<bool>());
        Assert.Equal("Task cannot be triggered", refusedBody["message"]!.GetValue<string>());
        Assert.Equal("Cannot trigger a task with status: 'running'", refusedBody["error"]!.GetValue<string>());
        Assert.Equal("running", refusedBody["current_status"]!.GetValue<string>());

        var (stopped, _) = await host.ControlAsync(sleeper, "stop");
        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        await host.WaitForTaskAsync(sleeper, d => d.HasFinished(), Bound, "the stopped sleeper's run ended");
    }

    private async Task<EnvironmentHostForTests> StartAsync()
    {
        var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync(Env);
        return host;
    }

    private static Dictionary<string, string> Fields(string name, params (string Key, string Value)[] extra)
    {
        var fields = new Dictionary<string, string> { ["conda_env"] = Env, ["task_name"] = name };
        foreach (var (key, value) in extra)
        {
            fields[key] = value;
        }

        return fields;
    }

    /// <summary>No early start: queued, and (once it ran) its process started, at or after the due time.</summary>
    private static void AssertNotEarly(EnvFabric.Core.Tasks.ExecutionRecord e)
    {
        Assert.True(e.QueuedAt >= e.DueAt, $"{e.ExecutionId} queued {e.QueuedAt:O} before due {e.DueAt:O}");
        if (e.StartTime is { } start && e.Status != "skipped")
        {
            Assert.True(start >= e.DueAt, $"{e.ExecutionId} started {start:O} before due {e.DueAt:O}");
        }
    }

    private static int Completed(JsonNode detail) => detail.Executions().Count(e => e!["status"]!.GetValue<string>() == "completed");

    /// <summary>Processes whose working directory is <paramref name="directory"/>.</summary>
    private static List<string> ProcessesIn(string directory)
    {
        var found = new List<string>();
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out _))
            {
                continue;
            }

            try
            {
                if (new DirectoryInfo(Path.Combine(proc, "cwd")).LinkTarget is { } cwd && Path.TrimEndingDirectorySeparator(cwd) == Path.TrimEndingDirectorySeparator(directory))
                {
                    found.Add(Path.GetFileName(proc) + " " + File.ReadAllText(Path.Combine(proc, "cmdline")).Replace('\0', ' '));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone, or not ours to read.
            }
        }

        return found;
    }
}
