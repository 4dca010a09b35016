using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using EnvFabric.Activities.Tasks;
using EnvFabric.Core.Tasks;
using EnvFabric.Testing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>
/// Seed 002's <c>/v2/instances</c> over HTTP with the real runner (an instance is an execution of a task made
/// through <c>/api/tasks</c>), and the schedule's <c>times</c> (<see cref="TaskRecord.MaxRuns"/>).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class V2InstanceTests(AzuriteFixture azurite)
{
    private const string Env = "inst";
    private const string Printer = "buf = bytearray(30 * 1024 * 1024)\nfor i in range(0, len(buf), 4096):\n    buf[i] = 1\nprint('hello v2', flush=True)\n";
    private const string Failer = "print('about to fail', flush=True)\nraise SystemExit(3)\n";
    private const string Looper = "import os, time\ni = 0\nwhile not os.path.exists('stop.flag'):\n    print(f'tick {i}', flush=True)\n    i += 1\n    time.sleep(0.2)\nprint('loop done', flush=True)\n";

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(150);

    private static Dictionary<string, string> Fields(string name, params (string Key, string Value)[] extra)
    {
        var fields = new Dictionary<string, string> { ["conda_env"] = Env, ["task_name"] = name };
        foreach (var (key, value) in extra)
        {
            fields[key] = value;
        }

        return fields;
    }

    private static void AssertOk(HttpResponseMessage response, JsonNode? body)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body?.ToJsonString()}");
        Assert.Equal("0", body!["code"]!.GetValue<string>());
        Assert.True(body["success"]!.GetValue<bool>());
    }

    private static void AssertError(HttpResponseMessage response, JsonNode? body, HttpStatusCode status, string code, string? contains = null)
    {
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode} {body?.ToJsonString()}");
        Assert.Equal(code, body!["code"]!.GetValue<string>());
        Assert.False(body["success"]!.GetValue<bool>());
        Assert.Null(body["data"]);
        if (contains is not null)
        {
            Assert.Contains(contains, body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    private static async Task<(HttpResponseMessage Response, JsonNode? Body)> GetAsync(HttpClient client, string url)
    {
        var response = await client.GetAsync(new Uri(url, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private static async Task<string> RunOnceAsync(EnvironmentHostForTests host, long id, int finished)
    {
        var detail = await host.WaitForTaskAsync(id, d => d.HasFinished(finished) && d["task"]!["status"]!.GetValue<string>() != "running", Bound, $"{finished} finished run(s)");
        return detail.Executions()[0]!["execution_id"]!.GetValue<string>();
    }

    /// <summary>Gives a task made through /api/tasks a seed 002 uuid, the way the v2 submit stores one.</summary>
    private static async Task SetUuidAsync(EnvironmentHostForTests host, long id, string uuid)
    {
        var tasks = host.Services.GetRequiredService<ITaskRepository>();
        Assert.True(await tasks.ReserveUuidAsync(uuid, id));
        Assert.NotNull(await tasks.MutateAsync(id, t => t with { Uuid = uuid }));
    }

    private static async Task<HttpClient> UserClientAsync(EnvironmentHostForTests host, string name, string ns)
    {
        using var key = await host.Client.PostAsJsonAsync(new Uri("/api/keys", UriKind.Relative), new { name, role = "user", @namespace = ns });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        var secret = JsonNode.Parse(await key.Content.ReadAsStringAsync())!["key"]!["value"]!.GetValue<string>();
        return host.Factory.CreateKeyedClient(secret);
    }

    [Fact]
    public async Task Instances_ListByUuidIdAndStatus_PagedWithTotal_DetailStatusLogs()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync(Env);
        var printer = await host.CreateTaskOkAsync(Printer, Fields("printer"));
        var first = await RunOnceAsync(host, printer, 1);
        Assert.Equal(HttpStatusCode.OK, (await host.ControlAsync(printer, "trigger")).Response.StatusCode);
        var second = await RunOnceAsync(host, printer, 2);
        Assert.Equal(HttpStatusCode.OK, (await host.ControlAsync(printer, "trigger")).Response.StatusCode);
        var third = await RunOnceAsync(host, printer, 3);
        var failer = await host.CreateTaskOkAsync(Failer, Fields("failer"));
        var failed = await RunOnceAsync(host, failer, 1);
        await SetUuidAsync(host, printer, "uuid-printer-1");

        // By uuid: the task's three runs, newest first, named by the uuid.
        var (byUuid, byUuidBody) = await host.SendAsync(HttpMethod.Get, "/v2/instances?task_id=uuid-printer-1");
        AssertOk(byUuid, byUuidBody);
        Assert.Equal(3, byUuidBody!["data"]!["total"]!.GetValue<int>());
        var instances = byUuidBody["data"]!["instances"]!.AsArray();
        Assert.Equal([third, second, first], instances.Select(i => i!["run_id"]!.GetValue<string>()));
        Assert.All(instances, i =>
        {
            Assert.Equal("uuid-printer-1", i!["uuid"]!.GetValue<string>());
            Assert.Equal(printer, i["task_id"]!.GetValue<long>());
            Assert.Equal("printer", i["name"]!.GetValue<string>());
            Assert.Equal("completed", i["status"]!.GetValue<string>());
        });

        // By id (a task without a uuid is named by its id), and by status.
        var (_, byId) = await host.SendAsync(HttpMethod.Get, $"/v2/instances?task_id={failer}");
        Assert.Equal(1, byId!["data"]!["total"]!.GetValue<int>());
        var failedView = byId["data"]!["instances"]![0]!;
        Assert.Equal(failed, failedView["run_id"]!.GetValue<string>());
        Assert.Equal(failer.ToString(CultureInfo.InvariantCulture), failedView["uuid"]!.GetValue<string>());
        Assert.Equal("failed", failedView["status"]!.GetValue<string>());
        Assert.Equal(3, failedView["exit_code"]!.GetValue<int>());
        var (_, byStatus) = await host.SendAsync(HttpMethod.Get, "/v2/instances?status=failed");
        Assert.Equal([failed], byStatus!["data"]!["instances"]!.AsArray().Select(i => i!["run_id"]!.GetValue<string>()));
        Assert.Equal(1, byStatus["data"]!["total"]!.GetValue<int>());
        var (_, completedOfFailer) = await host.SendAsync(HttpMethod.Get, $"/v2/instances?task_id={failer}&status=completed");
        Assert.Equal(0, completedOfFailer!["data"]!["total"]!.GetValue<int>());
        Assert.Empty(completedOfFailer["data"]!["instances"]!.AsArray());

        // Without a task: the recent instances of every visible task; paging keeps the total.
        var (_, all) = await host.SendAsync(HttpMethod.Get, "/v2/instances");
        Assert.Equal(4, all!["data"]!["total"]!.GetValue<int>());
        Assert.Equal([failed, third, second, first], all["data"]!["instances"]!.AsArray().Select(i => i!["run_id"]!.GetValue<string>()));
        var pages = new List<string>();
        for (var page = 1; page <= 3; page++)
        {
            var (_, paged) = await host.SendAsync(HttpMethod.Get, $"/v2/instances?task_id=uuid-printer-1&page={page}&size=2");
            Assert.Equal(3, paged!["data"]!["total"]!.GetValue<int>());
            var items = paged["data"]!["instances"]!.AsArray();
            Assert.Equal(page switch { 1 => 2, 2 => 1, _ => 0 }, items.Count);
            pages.AddRange(items.Select(i => i!["run_id"]!.GetValue<string>()));
        }

        Assert.Equal([third, second, first], pages);

        // Bad parameters are 1001; a missing task 1002.
        foreach (var query in new[] { "status=bogus", "page=0", "page=x", "size=0", "size=101", "size=-1", "page=1.5" })
        {
            var (bad, badBody) = await host.SendAsync(HttpMethod.Get, "/v2/instances?" + query);
            AssertError(bad, badBody, HttpStatusCode.BadRequest, "1001");
        }

        foreach (var missing in new[] { "no-such-uuid", "999999", "0" })
        {
            var (none, noneBody) = await host.SendAsync(HttpMethod.Get, "/v2/instances?task_id=" + missing);
            AssertError(none, noneBody, HttpStatusCode.NotFound, "1002", "not found");
        }

        // Detail of a completed run: exit code, metrics, times, runner, pool; no callback, no tags.
        var (detail, detailBody) = await host.SendAsync(HttpMethod.Get, $"/v2/instances/{first}");
        AssertOk(detail, detailBody);
        var view = detailBody!["data"]!;
        Assert.Equal(first, view["run_id"]!.GetValue<string>());
        Assert.Equal("uuid-printer-1", view["uuid"]!.GetValue<string>());
        Assert.Equal("completed", view["status"]!.GetValue<string>());
        Assert.Equal(0, view["exit_code"]!.GetValue<int>());
        Assert.Equal(1, view["attempt"]!.GetValue<int>());
        Assert.Equal("manual", view["trigger"]!.GetValue<string>());
        Assert.Equal("default", view["pool"]!.GetValue<string>());
        Assert.True(view["duration"]!.GetValue<double>() > 0, view.ToJsonString());
        Assert.True(view["peak_memory_mb"]!.GetValue<double>() >= 25, view.ToJsonString());
        Assert.True(view["avg_memory_mb"]!.GetValue<double>() > 0, view.ToJsonString());
        Assert.True(view["cpu_seconds"]!.GetValue<double>() >= 0, view.ToJsonString());
        Assert.False(string.IsNullOrEmpty(view["runner_id"]?.GetValue<string>()), view.ToJsonString());
        // ISO 8601 to the sub-second, as seed 002's Go time fields marshal.
        var queued = DateTimeOffset.Parse(view["queued_time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        var started = DateTimeOffset.Parse(view["start_time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        var ended = DateTimeOffset.Parse(view["end_time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("T", view["start_time"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(queued <= started && started <= ended, view.ToJsonString());
        Assert.Null(view["error"]);
        Assert.Null(view["callback"]);
        Assert.Empty(view["tags"]!.AsArray());
        var (_, failedDetail) = await host.SendAsync(HttpMethod.Get, $"/v2/instances/{failed}");
        Assert.Contains("3", failedDetail!["data"]!["error"]!.GetValue<string>(), StringComparison.Ordinal);

        var (status, statusBody) = await host.SendAsync(HttpMethod.Get, $"/v2/instances/{failed}/status");
        AssertOk(status, statusBody);
        Assert.Equal("failed", statusBody!["data"]!["status"]!.GetValue<string>());

        // The log of a finished run: the whole text, without the runner's end marker, then the end.
        using var logs = await host.Client.GetAsync(new Uri($"/v2/instances/{first}/logs", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, logs.StatusCode);
        Assert.Equal("text/plain", logs.Content.Headers.ContentType!.MediaType);
        var text = await logs.Content.ReadAsStringAsync();
        Assert.Contains("hello v2", text, StringComparison.Ordinal);
        Assert.DoesNotContain("##[envfabric:end]", text, StringComparison.Ordinal);

        // An unknown run is 1003 on every instance route.
        foreach (var path in new[] { "", "/status", "/logs" })
        {
            var (unknown, unknownBody) = await host.SendAsync(HttpMethod.Get, $"/v2/instances/20260101000000000-deadbeef{path}");
            AssertError(unknown, unknownBody, HttpStatusCode.NotFound, "1003", "not found");
        }
    }

    [Fact]
    public async Task Tags_ReplacedAndValidated_Audited_AndNamespacesIsolated()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync(Env);
        var mine = await host.CreateTaskOkAsync("print('mine')\n", Fields("mine", ("namespace", "team-a")));
        var theirs = await host.CreateTaskOkAsync("print('theirs')\n", Fields("theirs", ("namespace", "team-b")));
        var mineRun = await RunOnceAsync(host, mine, 1);
        var theirsRun = await RunOnceAsync(host, theirs, 1);

        var (set, setBody) = await host.SendAsync(HttpMethod.Post, $"/v2/instances/{mineRun}/tags", new { tags = new[] { "nightly", "env=prod", "a.b_c-d:e/f" } });
        AssertOk(set, setBody);
        Assert.Null(setBody!["data"]);
        var (_, tagged) = await host.SendAsync(HttpMethod.Get, $"/v2/instances/{mineRun}");
        Assert.Equal(["nightly", "env=prod", "a.b_c-d:e/f"], tagged!["data"]!["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal("completed", tagged["data"]!["status"]!.GetValue<string>());
        var (replace, replaceBody) = await host.SendAsync(HttpMethod.Post, $"/v2/instances/{mineRun}/tags", new { tags = new[] { "only" } });
        AssertOk(replace, replaceBody);
        var (_, replaced) = await host.SendAsync(HttpMethod.Get, $"/v2/instances/{mineRun}");
        Assert.Equal(["only"], replaced!["data"]!["tags"]!.AsArray().Select(t => t!.GetValue<string>()));

        // Bad tags are 1001 and change nothing.
        object[] bad =
        [
            new { tags = Array.Empty<string>() },
            new { tags = Enumerable.Range(0, 33).Select(i => "t" + i).ToArray() },
            new { tags = new[] { "has space" } },
            new { tags = new[] { "" } },
            new { tags = new[] { new string('x', 65) } },
            new { tags = new[] { "ok", "semi;colon" } },
            new { other = 1 },
            new { tags = "not-a-list" },
            new { tags = new[] { 1, 2 } },
        ];
        foreach (var body in bad)
        {
            var (refused, refusedBody) = await host.SendAsync(HttpMethod.Post, $"/v2/instances/{mineRun}/tags", body);
            AssertError(refused, refusedBody, HttpStatusCode.BadRequest, "1001");
        }

        using var empty = await host.Client.PostAsync(new Uri($"/v2/instances/{mineRun}/tags", UriKind.Relative), new StringContent("", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal("1001", JsonNode.Parse(await empty.Content.ReadAsStringAsync())!["code"]!.GetValue<string>());
        var (_, unchanged) = await host.SendAsync(HttpMethod.Get, $"/v2/instances/{mineRun}");
        Assert.Equal(["only"], unchanged!["data"]!["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        var (unknown, unknownBody) = await host.SendAsync(HttpMethod.Post, "/v2/instances/20260101000000000-deadbeef/tags", new { tags = new[] { "x" } });
        AssertError(unknown, unknownBody, HttpStatusCode.NotFound, "1003");

        // Each replacement is audited with the old and new tags.
        var (_, audit) = await host.SendAsync(HttpMethod.Get, $"/api/audit?operation=instance.tags&operation_id={mineRun}");
        Assert.Equal(2, audit!["count"]!.GetValue<int>());
        var rows = audit["items"]!.AsArray();
        Assert.All(rows, r => Assert.Equal("instance.tags", r!["operation"]!.GetValue<string>()));
        Assert.Contains(rows, r => r!["inputs"]!.GetValue<string>().Contains("\"only\"", StringComparison.Ordinal));

        // A user key of team-a sees and tags its own instances only; team-b's run is not found (1003), its task 1002.
        using var user = await UserClientAsync(host, "bot-a", "team-a");
        var (ownDetail, ownBody) = await GetAsync(user, $"/v2/instances/{mineRun}");
        AssertOk(ownDetail, ownBody);
        var (listed, listedBody) = await GetAsync(user, "/v2/instances");
        AssertOk(listed, listedBody);
        Assert.Equal([mineRun], listedBody!["data"]!["instances"]!.AsArray().Select(i => i!["run_id"]!.GetValue<string>()));
        Assert.Equal(1, listedBody["data"]!["total"]!.GetValue<int>());
        foreach (var path in new[] { "", "/status", "/logs" })
        {
            var (foreign, foreignBody) = await GetAsync(user, $"/v2/instances/{theirsRun}{path}");
            AssertError(foreign, foreignBody, HttpStatusCode.NotFound, "1003");
        }

        using var foreignTags = await user.PostAsJsonAsync(new Uri($"/v2/instances/{theirsRun}/tags", UriKind.Relative), new { tags = new[] { "mine-now" } });
        AssertError(foreignTags, JsonNode.Parse(await foreignTags.Content.ReadAsStringAsync()), HttpStatusCode.NotFound, "1003");
        var (foreignTask, foreignTaskBody) = await GetAsync(user, $"/v2/instances?task_id={theirs}");
        AssertError(foreignTask, foreignTaskBody, HttpStatusCode.NotFound, "1002");
        var (_, theirsView) = await host.SendAsync(HttpMethod.Get, $"/v2/instances/{theirsRun}");
        Assert.Empty(theirsView!["data"]!["tags"]!.AsArray());

        // The admin key sees both namespaces.
        var (_, everything) = await host.SendAsync(HttpMethod.Get, "/v2/instances");
        Assert.Equal(2, everything!["data"]!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task Logs_OfRunningInstance_FollowTheOutputAndEndWithTheRun()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync(Env);
        var id = await host.CreateTaskOkAsync(Looper, Fields("looper"));
        var detail = await host.WaitForTaskAsync(id, d => d.Executions().FirstOrDefault()?["status"]?.GetValue<string>() == "running", Bound, "a running execution");
        var runId = detail.Executions()[0]!["execution_id"]!.GetValue<string>();

        using var cancel = new CancellationTokenSource(Bound);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/instances/{runId}/logs");
        using var response = await host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync(cancel.Token);
        var received = new StringBuilder();
        var buffer = new byte[4096];

        // Output arrives while the script still runs (it loops until the flag exists).
        while (!received.ToString().Contains("tick 2", StringComparison.Ordinal))
        {
            var n = await stream.ReadAsync(buffer, cancel.Token);
            Assert.True(n > 0, $"the stream ended before the run did: {received}");
            received.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }

        var (_, stillRunning) = await host.SendAsync(HttpMethod.Get, $"/v2/instances/{runId}/status");
        Assert.Equal("running", stillRunning!["data"]!["status"]!.GetValue<string>());
        await File.WriteAllTextAsync(Path.Combine(host.Share.Path, "scripts", id.ToString(CultureInfo.InvariantCulture), "stop.flag"), "stop", cancel.Token);

        // Then the rest, and the stream ends by itself once the run has ended.
        int read;
        while ((read = await stream.ReadAsync(buffer, cancel.Token)) > 0)
        {
            received.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        var text = received.ToString();
        Assert.Contains("loop done", text, StringComparison.Ordinal);
        Assert.DoesNotContain("##[envfabric:end]", text, StringComparison.Ordinal);
        Assert.True(text.IndexOf("tick 0", StringComparison.Ordinal) < text.IndexOf("loop done", StringComparison.Ordinal), text);
        await host.WaitForTaskAsync(id, d => d.HasFinished() && d["task"]!["status"]!.GetValue<string>() == "completed", Bound, "the run to complete");
    }

    [Fact]
    public async Task Times_CronWithMaxRunsTwo_MakesTwoScheduledRunsThenTheTaskCompletes()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync(Env);

        // Made far in the future, given times = 2, then switched to a cron every two seconds. Overlap queue: under load a
        // run can outlast the two seconds, and a skipped occurrence would count as one of the two (see the README).
        var id = await host.CreateTaskOkAsync("print('tick')\n", Fields("twice", ("delay_seconds", "86400"), ("overlap", "queue")));
        var tasks = host.Services.GetRequiredService<ITaskRepository>();
        Assert.NotNull(await tasks.MutateAsync(id, t => t with { MaxRuns = 2 }));
        var (updated, updatedBody) = await host.SendAsync(HttpMethod.Put, $"/api/tasks/{id}", new { cron_expression = "*/2 * * * * *" });
        Assert.True(updated.StatusCode == HttpStatusCode.OK, updatedBody?.ToJsonString());

        var detail = await host.WaitForTaskAsync(id, d => d["task"]!["status"]!.GetValue<string>() == "completed", Bound, "the task to complete after its two runs");
        Assert.Equal(2, detail.ExecutionsBy("cron").Count);
        Assert.All(detail.Executions(), e => Assert.Equal("completed", e!["status"]!.GetValue<string>()));
        Assert.Null(detail["task"]!["next_run_time"]);

        // The schedule ended: no third run comes, and the count stays at two.
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(
            async () => (await client.GetInstanceAsync($"schedule-{id}"))?.RuntimeStatus == OrchestrationRuntimeStatus.Completed, Bound), "the schedule to end");
        Assert.Equal(2, await host.AssertNoNewExecutionsAsync(id, TimeSpan.FromSeconds(6)));
        var stored = await tasks.GetAsync(id);
        Assert.Equal(2, stored!.RunsStarted);
        Assert.True(stored.RunsExhausted);

        // A manual trigger still runs it and does not count; the task ends completed again.
        Assert.Equal(HttpStatusCode.OK, (await host.ControlAsync(id, "trigger")).Response.StatusCode);
        var after = await host.WaitForTaskAsync(id, d => d.HasFinished(3) && d["task"]!["status"]!.GetValue<string>() == "completed", Bound, "the manual run");
        Assert.Single(after.ExecutionsBy("manual"));
        Assert.Equal(2, after.ExecutionsBy("cron").Count);
        Assert.Equal(2, (await tasks.GetAsync(id))!.RunsStarted);
    }

    [Fact]
    public async Task Times_ARepeatedStartOfTheSameOccurrence_CountsOnce_AndNoneStartsPastTheLimit()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);
        var tasks = host.Services.GetRequiredService<ITaskRepository>();
        var id = await tasks.AllocateIdAsync();
        var (added, _) = await tasks.AddAsync(new TaskRecord
        {
            TaskId = id,
            Name = "counted",
            Environment = "absent",
            Trigger = new TaskTrigger { Kind = TriggerKind.Cron, CronExpression = "0 0 1 1 *" },
            MaxRuns = 2,
            CreatedAt = DateTimeOffset.UtcNow,
            UpdatedAt = DateTimeOffset.UtcNow,
        });
        Assert.Equal(TaskSaveOutcome.Saved, added);

        // The activity the schedule calls, against the real tables and durable client; a replay calls it again with the same input.
        var start = new StartScheduledRunActivity(tasks, host.Services.GetRequiredService<DurableTaskClient>());
        var context = new ActivityContext();
        var settings = new TaskRunSettings();
        var due1 = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var due2 = due1.AddYears(1);
        var first = await start.RunAsync(context, new StartScheduledRunRequest(id, 0, due1, ExecutionTriggers.Cron, settings));
        var replayed = await start.RunAsync(context, new StartScheduledRunRequest(id, 0, due1, ExecutionTriggers.Cron, settings));
        Assert.Equal("started", first.Outcome);
        Assert.Equal("started", replayed.Outcome);
        Assert.Equal(first.InstanceId, replayed.InstanceId);
        Assert.Equal(1, (await tasks.GetAsync(id))!.RunsStarted);

        var second = await start.RunAsync(context, new StartScheduledRunRequest(id, 0, due2, ExecutionTriggers.Cron, settings));
        Assert.Equal("started", second.Outcome);
        Assert.NotEqual(first.InstanceId, second.InstanceId);
        var counted = await tasks.GetAsync(id);
        Assert.Equal(2, counted!.RunsStarted);
        Assert.Equal(due2, counted.LastCountedDue);

        // The second occurrence replayed still counts once; a third is past the limit and starts nothing.
        Assert.Equal("started", (await start.RunAsync(context, new StartScheduledRunRequest(id, 0, due2, ExecutionTriggers.Cron, settings))).Outcome);
        var third = await start.RunAsync(context, new StartScheduledRunRequest(id, 0, due2.AddYears(1), ExecutionTriggers.Cron, settings));
        Assert.Equal("replan", third.Outcome);
        Assert.Null(third.InstanceId);
        Assert.Equal(2, (await tasks.GetAsync(id))!.RunsStarted);
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        Assert.Null(await client.GetInstanceAsync(TaskInstanceIds.ScheduledRun(id, due2.AddYears(1))));
    }

    /// <summary>The durable worker's context of an activity call (the activity reads nothing from it).</summary>
    private sealed class ActivityContext : Microsoft.DurableTask.TaskActivityContext
    {
        public override Microsoft.DurableTask.TaskName Name => StartScheduledRunActivity.Name;

        public override string InstanceId => "schedule-test";
    }
}
