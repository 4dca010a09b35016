using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>Seed 003's control routes (pause, resume, stop, update, delete), refused inputs, the log stream and slots, over HTTP.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TaskControlTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    private const string Ticker = "import time\nfor i in range(300):\n    print(f'tick {i}', flush=True)\n    time.sleep(0.2)\n";

    [Fact]
    public async Task TerminatedRun_IsRepairedOnTheNextTrigger_ExecutionAbnormalAndTaskRunsAgain()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("repair");
        var id = await host.CreateTaskOkAsync("import time\ntime.sleep(15)\n", new Dictionary<string, string> { ["conda_env"] = "repair", ["task_name"] = "repair" });
        var running = await host.WaitForTaskAsync(id, d => d["task"]!["status"]!.GetValue<string>() == "running", what: "running");
        var executionId = running.Executions()[0]!["execution_id"]!.GetValue<string>();

        // Someone terminates the run's orchestration through the management API: nothing records its end.
        var repository = host.Services.GetRequiredService<EnvFabric.Core.Tasks.ITaskRepository>();
        var execution = await repository.GetExecutionAsync(id, executionId);
        var durable = host.Services.GetRequiredService<Microsoft.DurableTask.Client.DurableTaskClient>();
        await durable.TerminateInstanceAsync(execution!.RunId, "test");
        await durable.WaitForInstanceCompletionAsync(execution.RunId);

        var (triggered, body) = await host.SendAsync(HttpMethod.Post, $"/api/tasks/{id}/trigger");
        Assert.True(triggered.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        var detail = await host.WaitForTaskAsync(id, d => d.Executions().Count == 2, what: "a second execution");
        var old = detail.Executions().Single(e => e!["execution_id"]!.GetValue<string>() == executionId)!;
        Assert.Equal("abnormal", old["status"]!.GetValue<string>());
        Assert.Contains("ended without recording", old["error"]!.GetValue<string>(), StringComparison.Ordinal);
        await host.SendAsync(HttpMethod.Post, $"/api/tasks/{id}/stop");
    }

    [Fact]
    public async Task PauseResumeStop_RunningTask_SuspendsContinuesAndCancelsTheProcess()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("tasks");
        var id = await host.CreateTaskOkAsync(Ticker, new Dictionary<string, string> { ["conda_env"] = "tasks" });
        var eid = await RunningExecutionAsync(host, id);
        await WaitLogAsync(host, id, eid, l => Lines(l) >= 3, "three log lines");

        var (paused, pausedBody) = await host.SendAsync(HttpMethod.Post, $"/api/tasks/{id}/pause");
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        Assert.True(pausedBody!["success"]!.GetValue<bool>());
        Assert.Equal("Task paused successfully", pausedBody["message"]!.GetValue<string>());
        Assert.Equal(id, pausedBody["task"]!["task_id"]!.GetValue<long>());
        Assert.Equal("paused", pausedBody["task"]!["status"]!.GetValue<string>());
        Assert.Equal("running", pausedBody["task"]!["previous_status"]!.GetValue<string>());

        var pid = await ProcessOfAsync(host, id);
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(() => Task.FromResult(StateOf(pid) == 'T'), Bound), $"process {pid} is in state {StateOf(pid)}, not stopped");

        // Lines printed just before the stop may still be on their way; once the log settles it must stay put.
        var settled = await SettledLogAsync(host, id, eid);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(settled, (await LogsAsync(host, id, eid)).Length);
        Assert.Equal('T', StateOf(pid));

        var (resumed, resumedBody) = await host.SendAsync(HttpMethod.Post, $"/api/tasks/{id}/resume");
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        Assert.Equal("Task resumed successfully", resumedBody!["message"]!.GetValue<string>());
        Assert.Equal("running", resumedBody["task"]!["status"]!.GetValue<string>());
        Assert.Equal("paused", resumedBody["task"]!["previous_status"]!.GetValue<string>());
        await WaitLogAsync(host, id, eid, l => l.Length > settled, "the log to grow after resume");

        var (stopped, stoppedBody) = await host.SendAsync(HttpMethod.Post, $"/api/tasks/{id}/stop");
        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        Assert.Equal("Task stopped successfully", stoppedBody!["message"]!.GetValue<string>());
        Assert.Equal("stopped", stoppedBody["task"]!["status"]!.GetValue<string>());
        Assert.Equal("running", stoppedBody["task"]!["previous_status"]!.GetValue<string>());

        var detail = await host.WaitForTaskAsync(id, d => d.HasFinished(), what: "the execution to end");
        Assert.Equal("cancelled", detail.Executions().Single()!["status"]!.GetValue<string>());
        Assert.Equal("stopped", detail["task"]!["status"]!.GetValue<string>());
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(() => Task.FromResult(!Directory.Exists($"/proc/{pid}") || StateOf(pid) == 'Z'), Bound), $"process {pid} still alive");
    }

    [Fact]
    public async Task LogStream_RunningScript_FirstEventHasTheLogSoFarThenIncrementsThenComplete()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("tasks");
        const string slow = "import time\nfor i in range(25):\n    print(f'line {i} ' + 'x' * i, flush=True)\n    time.sleep(0.4)\n";
        var id = await host.CreateTaskOkAsync(slow, new Dictionary<string, string> { ["conda_env"] = "tasks" });
        var eid = await RunningExecutionAsync(host, id);
        await WaitLogAsync(host, id, eid, l => Lines(l) >= 2, "two log lines");

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/tasks/{id}/executions/{eid}/logs?stream=true");
        using var response = await host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var events = new List<JsonNode>();
        while (await reader.ReadLineAsync(cancel.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(JsonNode.Parse(line[6..])!);
                if (events[^1]["is_complete"]!.GetValue<bool>())
                {
                    break;
                }
            }
        }

        Assert.True(events.Count >= 3, $"{events.Count} events");
        Assert.Contains("line 0 ", events[0]["logs"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(events[^1]["is_complete"]!.GetValue<bool>());
        Assert.All(events.SkipLast(1), e => Assert.False(e["is_complete"]!.GetValue<bool>()));

        var final = await LogsAsync(host, id, eid);
        Assert.Equal(final, string.Concat(events.Select(e => e["logs"]!.GetValue<string>())));
        Assert.Contains("line 24 ", final, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_BadInput_Refused400AndNothingCreated()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, new Dictionary<string, string?> { ["TASK_MAX_EXTRACTED_MB"] = "1" });
        await host.CreateCondaAsync("tasks");
        await host.CreateTaskOkAsync("print(1)\n", new Dictionary<string, string> { ["conda_env"] = "tasks", ["task_name"] = "taken", ["delay_seconds"] = "86400" });
        var scripts = Path.Combine(host.Share.Path, "scripts");
        var before = Entries(scripts);
        var (_, listed) = await host.SendAsync(HttpMethod.Get, "/api/tasks");
        var rows = listed!.AsArray().Count;

        var py = Encoding.UTF8.GetBytes("print('x')\n");
        var env = new Dictionary<string, string> { ["conda_env"] = "tasks" };
        Dictionary<string, string> With(params (string Key, string Value)[] more)
        {
            var fields = new Dictionary<string, string>(env);
            foreach (var (key, value) in more)
            {
                fields[key] = value;
            }

            return fields;
        }

        var cases = new List<(string Name, byte[]? File, string FileName, Dictionary<string, string> Fields, string Message, Func<string, bool> Error)>
        {
            ("cron and delay", py, "main.py", With(("cron_expression", "*/10 * * * *"), ("delay_seconds", "60")),
                "Please specify either cron expression or delay seconds, not both", e => e == "Cannot specify both cron_expression and delay_seconds"),
            ("bad cron", py, "main.py", With(("cron_expression", "not a cron")),
                "The provided cron expression is invalid", e => e.StartsWith("Invalid cron expression: ", StringComparison.Ordinal)),
            ("negative delay", py, "main.py", With(("delay_seconds", "-5")),
                "Please provide a non-negative delay value", e => e == "Delay seconds must be non-negative"),
            ("huge delay", py, "main.py", With(("delay_seconds", "99999999999")), "Please provide a non-negative delay value", e => e.Length > 0),
            ("past run_at", py, "main.py", With(("run_at", "2001-01-01T00:00:00Z")), "The provided run_at is invalid", e => e.Length > 0),
            ("unknown timezone", py, "main.py", With(("cron_expression", "0 0 * * *"), ("timezone", "Mars/Olympus")),
                "The provided time zone is invalid", e => e.Contains("Mars/Olympus", StringComparison.Ordinal)),
            ("reuse missing env", py, "main.py", new() { ["conda_env"] = "ghost", ["reuse_env"] = "true" },
                "Cannot reuse non-existing environment", e => e == "Environment 'ghost' not found"),
            ("unknown env", py, "main.py", new() { ["conda_env"] = "ghost" },
                "Environment not found", e => e == "The specified conda environment 'ghost' does not exist"),
            ("duplicate name", py, "main.py", With(("task_name", "taken")),
                "Task with this name already exists", e => e == "Task with name 'taken' already exists"),
            ("zip slip", Zip(("main.py", py), ("../evil.py", py)), "job.zip", With(),
                "Failed to process uploaded file", e => e.Contains("../evil.py", StringComparison.Ordinal)),
            ("zip absolute", Zip(("main.py", py), ("/tmp/evil.py", py)), "job.zip", With(),
                "Failed to process uploaded file", e => e.Contains("absolute", StringComparison.Ordinal)),
            ("zip symlink", SymlinkZip(), "job.zip", With(),
                "Failed to process uploaded file", e => e.Contains("symbolic link", StringComparison.Ordinal)),
            ("zip bomb", Zip(("main.py", py), ("zeros.bin", new byte[5 * 1024 * 1024])), "job.zip", With(),
                "Failed to process uploaded file", e => e.Contains("expands to more than", StringComparison.Ordinal)),
            ("not utf-8", [0x70, 0x72, 0x69, 0x6e, 0x74, 0x28, 0x27, 0xff, 0xfe, 0x27, 0x29, 0x0a], "main.py", With(),
                "Failed to process uploaded file", e => e.Contains("UTF-8", StringComparison.Ordinal)),
            ("empty py", [], "main.py", With(), "Failed to process uploaded file", e => e.Contains("empty", StringComparison.Ordinal)),
            ("unsplittable command", py, "main.py", With(("command", "python 'main.py")), "Invalid command", e => e.Length > 0),
            ("no script", null, "main.py", With(), "No script file provided", e => e.Length > 0),
        };

        var failures = new List<string>();
        foreach (var (name, file, fileName, fields, message, error) in cases)
        {
            var (response, body) = await PostFormAsync(host, "/api/tasks", file, fileName, fields);
            var text = $"{name}: {(int)response.StatusCode} {body?.ToJsonString()}";
            if (response.StatusCode != HttpStatusCode.BadRequest || body?["success"]?.GetValue<bool>() != false
                || body["message"]?.GetValue<string>() != message || body["error"]?.GetValue<string>() is not { } e || !error(e))
            {
                failures.Add(text);
            }

            var (_, now) = await host.SendAsync(HttpMethod.Get, "/api/tasks");
            if (now!.AsArray().Count != rows)
            {
                failures.Add($"{name}: a task row was left: {now.ToJsonString()}");
                rows = now.AsArray().Count;
            }

            var after = Entries(scripts);
            if (!after.SequenceEqual(before))
            {
                failures.Add($"{name}: left under scripts/: {string.Join(", ", after.Except(before))}");
                before = after;
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task Create_ZipAtRoot_ExtractsWithFoldersAndRunsMainByDefault()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("tasks");
        var zip = Zip(
            ("main.py", Encoding.UTF8.GetBytes("from pkg.util import greet\nprint(greet(open('data/name.txt').read().strip()))\n")),
            ("pkg/__init__.py", Encoding.UTF8.GetBytes("\n")),
            ("pkg/util.py", Encoding.UTF8.GetBytes("def greet(n):\n    return 'hello ' + n\n")),
            ("data/name.txt", Encoding.UTF8.GetBytes("zipped\n")));
        var (created, body) = await PostFormAsync(host, "/api/tasks", zip, "bundle.zip", new() { ["conda_env"] = "tasks" });
        Assert.True(created.StatusCode == HttpStatusCode.Created, body?.ToJsonString());
        var id = body!["task"]!["task_id"]!.GetValue<long>();
        Assert.Equal("python main.py", body["task"]!["command"]!.GetValue<string>());
        var dir = Path.Combine(host.Share.Path, "scripts", id.ToString(CultureInfo.InvariantCulture));
        Assert.True(File.Exists(Path.Combine(dir, "main.py")));
        Assert.True(File.Exists(Path.Combine(dir, "pkg", "util.py")));
        Assert.True(File.Exists(Path.Combine(dir, "data", "name.txt")));

        var detail = await host.WaitForTaskAsync(id, d => d.HasFinished(), what: "the run to end");
        Assert.Equal("completed", detail.Executions().Single()!["status"]!.GetValue<string>());
        Assert.Contains("hello zipped", detail["latest_execution"]!["logs"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Update_ScheduledTask_ChangesFieldsAndRefusesBadParameters()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("tasks");
        var id = await host.CreateTaskOkAsync("print(1)\n", new Dictionary<string, string> { ["conda_env"] = "tasks", ["delay_seconds"] = "86400" });

        var (ok, body) = await host.SendAsync(HttpMethod.Put, $"/api/tasks/{id}", new { priority = "high", command = "python main.py --flag", cron_expression = "0 3 1 1 *" });
        Assert.True(ok.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal("Task updated successfully", body!["message"]!.GetValue<string>());
        var task = body["task"]!;
        Assert.Equal("high", task["priority"]!.GetValue<string>());
        Assert.Equal("python main.py --flag", task["command"]!.GetValue<string>());
        Assert.Equal("0 3 1 1 *", task["cron_expression"]!.GetValue<string>());
        Assert.Equal("scheduled", task["status"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-01-01 ", task["next_run_time"]!.GetValue<string>());
        Assert.NotNull(task["updated_at"]);

        await AssertErrorAsync(host.SendAsync(HttpMethod.Put, $"/api/tasks/{id}", new { cron_expression = "0 0 * * *", delay_seconds = 60 }),
            "Invalid update parameters", "Cannot specify both cron_expression and delay_seconds");
        var (_, badCron) = await AssertErrorAsync(host.SendAsync(HttpMethod.Put, $"/api/tasks/{id}", new { cron_expression = "61 * * * *" }), "Invalid update parameters", null);
        Assert.StartsWith("The provided cron expression is invalid: ", badCron!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        await AssertErrorAsync(host.SendAsync(HttpMethod.Put, $"/api/tasks/{id}", new { conda_env = "ghost" }),
            "Environment not found", "The specified conda environment 'ghost' does not exist");

        var (_, again) = await host.SendAsync(HttpMethod.Get, $"/api/tasks/{id}");
        Assert.Equal("0 3 1 1 *", again!["task"]!["cron_expression"]!.GetValue<string>());
        Assert.Equal("tasks", again["task"]!["conda_env"]!.GetValue<string>());
    }

    [Fact]
    public async Task UpdateScript_ScheduledTask_NeedsForceThenPauses()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("tasks");
        var id = await host.CreateTaskOkAsync("print(1)\n", new Dictionary<string, string> { ["conda_env"] = "tasks", ["cron_expression"] = "0 3 1 1 *" });
        var url = $"/api/tasks/{id}/update-script";
        var script = Encoding.UTF8.GetBytes("print('v2')\n");

        var (refused, refusedBody) = await AssertErrorAsync(PostFormAsync(host, url, script, "main.py", []), "Task script cannot be updated", "Cannot update a task with status: 'scheduled'");
        Assert.Equal("scheduled", refusedBody!["current_status"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        await AssertErrorAsync(PostFormAsync(host, url, null, "main.py", new() { ["force"] = "true" }), "No script file provided", "Script file is required for update");

        var (ok, body) = await PostFormAsync(host, url, script, "main.py", new() { ["force"] = "true" });
        Assert.True(ok.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal("Task script updated successfully", body!["message"]!.GetValue<string>());
        Assert.Equal("paused", body["task"]!["status"]!.GetValue<string>());
        Assert.Contains("main.py", body["updated_files"]!.AsArray().Select(f => f!.GetValue<string>()));
        var dir = Path.Combine(host.Share.Path, "scripts", id.ToString(CultureInfo.InvariantCulture));
        Assert.Equal("print('v2')\n", await File.ReadAllTextAsync(Path.Combine(dir, "main.py")));
        Assert.Empty(Directory.GetDirectories(Path.Combine(host.Share.Path, "scripts"), ".staging-*"));
    }

    [Fact]
    public async Task Slots_MaxConcurrentTwo_NeverMoreThanTwoRunning()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, new Dictionary<string, string?> { ["MAX_CONCURRENT_TASKS"] = "2" });
        await host.CreateCondaAsync("tasks");
        var ids = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            host.CreateTaskOkAsync("import time\ntime.sleep(3)\n", new Dictionary<string, string> { ["conda_env"] = "tasks", ["task_name"] = $"sleeper{i}" })));

        var peak = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(240);
        while (true)
        {
            var details = await Task.WhenAll(ids.Select(async id => (await host.SendAsync(HttpMethod.Get, $"/api/tasks/{id}")).Body!));
            var running = details.Sum(d => d.Executions().Count(e => e!["status"]!.GetValue<string>() == "running"));
            peak = Math.Max(peak, running);
            Assert.True(running <= 2, $"{running} running: {string.Join('\n', details.Select(d => d.ToJsonString()))}");
            if (details.All(d => d.HasFinished()))
            {
                Assert.All(details, d => Assert.Equal("completed", d.Executions().Single()!["status"]!.GetValue<string>()));
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"not all finished: {string.Join('\n', details.Select(d => d.ToJsonString()))}");
            await Task.Delay(200);
        }

        Assert.True(peak >= 1);
    }

    [Fact]
    public async Task Slots_OneSlot_HighPriorityStartsBeforeLow()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, new Dictionary<string, string?> { ["MAX_CONCURRENT_TASKS"] = "1" });
        await host.CreateCondaAsync("tasks");
        var release = Path.Combine(host.Share.Path, "release-" + Guid.NewGuid().ToString("N"));
        var blocker = await host.CreateTaskOkAsync(
            $"import os, time\nfor _ in range(1200):\n    if os.path.exists({Quote(release)}):\n        break\n    time.sleep(0.1)\n",
            new Dictionary<string, string> { ["conda_env"] = "tasks", ["task_name"] = "blocker" });
        await RunningExecutionAsync(host, blocker);

        const string short_ = "import time\ntime.sleep(1.5)\n";
        var low = await host.CreateTaskOkAsync(short_, new Dictionary<string, string> { ["conda_env"] = "tasks", ["task_name"] = "low", ["priority"] = "low" });
        var high = await host.CreateTaskOkAsync(short_, new Dictionary<string, string> { ["conda_env"] = "tasks", ["task_name"] = "high", ["priority"] = "high" });
        await File.WriteAllTextAsync(release, "go");

        var lowRun = (await host.WaitForTaskAsync(low, d => d.HasFinished(), what: "low to finish")).Executions().Single()!;
        var highRun = (await host.WaitForTaskAsync(high, d => d.HasFinished(), what: "high to finish")).Executions().Single()!;
        Assert.Equal("completed", lowRun["status"]!.GetValue<string>());
        Assert.Equal("completed", highRun["status"]!.GetValue<string>());
        Assert.True(string.CompareOrdinal(highRun["start_time"]!.GetValue<string>(), lowRun["start_time"]!.GetValue<string>()) < 0,
            $"high {highRun.ToJsonString()} low {lowRun.ToJsonString()}");
    }

    [Fact]
    public async Task Namespace_UserKeyOfOtherNamespace_CannotSeeOrStopTheTask()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("tasks");
        var id = await host.CreateTaskOkAsync("print(1)\n", new Dictionary<string, string> { ["conda_env"] = "tasks", ["namespace"] = "team-b", ["delay_seconds"] = "86400" });
        using var key = await host.Client.PostAsJsonAsync(new Uri("/api/keys", UriKind.Relative), new { name = "bot-a", role = "user", @namespace = "team-a" });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        var secret = JsonNode.Parse(await key.Content.ReadAsStringAsync())!["key"]!["value"]!.GetValue<string>();
        using var user = host.Factory.CreateKeyedClient(secret);

        var list = JsonNode.Parse(await user.GetStringAsync(new Uri("/api/tasks", UriKind.Relative)))!.AsArray();
        Assert.DoesNotContain(list, t => t!["task_id"]!.GetValue<long>() == id);
        using var get = await user.GetAsync(new Uri($"/api/tasks/{id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        using var stop = await user.PostAsync(new Uri($"/api/tasks/{id}/stop", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Forbidden, stop.StatusCode);
        var body = JsonNode.Parse(await stop.Content.ReadAsStringAsync())!;
        Assert.False(body["success"]!.GetValue<bool>());
        Assert.Equal("Unauthorized - Insufficient privileges", body["message"]!.GetValue<string>());
        Assert.Equal("You do not have permission to stop this task", body["error"]!.GetValue<string>());

        var (_, still) = await host.SendAsync(HttpMethod.Get, $"/api/tasks/{id}");
        Assert.Equal("scheduled", still!["task"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task RunningTask_RefusesUpdateAndDelete()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("tasks");
        var id = await host.CreateTaskOkAsync(Ticker, new Dictionary<string, string> { ["conda_env"] = "tasks" });
        await RunningExecutionAsync(host, id);

        var (_, update) = await AssertErrorAsync(host.SendAsync(HttpMethod.Put, $"/api/tasks/{id}", new { priority = "high" }),
            "Task cannot be updated", "Cannot update a task that is currently running");
        Assert.Equal("running", update!["current_status"]!.GetValue<string>());
        var (_, delete) = await AssertErrorAsync(host.SendAsync(HttpMethod.Delete, $"/api/tasks/{id}"),
            "Task cannot be deleted", "Cannot delete a task that is currently running");
        Assert.Equal("running", delete!["current_status"]!.GetValue<string>());
        Assert.True(Directory.Exists(Path.Combine(host.Share.Path, "scripts", id.ToString(CultureInfo.InvariantCulture))));

        var (stopped, _) = await host.SendAsync(HttpMethod.Post, $"/api/tasks/{id}/stop");
        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        await host.WaitForTaskAsync(id, d => d.HasFinished(), what: "the execution to end");
    }

    private static async Task<(HttpResponseMessage Response, JsonNode? Body)> AssertErrorAsync(
        Task<(HttpResponseMessage Response, JsonNode? Body)> call, string message, string? error)
    {
        var (response, body) = await call;
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {body?.ToJsonString()}");
        Assert.False(body!["success"]!.GetValue<bool>());
        Assert.Equal(message, body["message"]!.GetValue<string>());
        if (error is not null)
        {
            Assert.Equal(error, body["error"]!.GetValue<string>());
        }

        return (response, body);
    }

    private static async Task<(HttpResponseMessage Response, JsonNode? Body)> PostFormAsync(
        EnvironmentHostForTests host, string url, byte[]? file, string fileName, Dictionary<string, string> fields)
    {
        using var form = new MultipartFormDataContent();
        if (file is not null)
        {
            var content = new ByteArrayContent(file);
            content.Headers.ContentType = new MediaTypeHeaderValue(fileName.EndsWith(".zip", StringComparison.Ordinal) ? "application/zip" : "text/x-python");
            form.Add(content, "script_file", fileName);
        }

        foreach (var (key, value) in fields)
        {
            form.Add(new StringContent(value), key);
        }

        var response = await host.Client.PostAsync(new Uri(url, UriKind.Relative), form);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>Waits for the task's execution to be <c>running</c> and returns its id.</summary>
    private static async Task<string> RunningExecutionAsync(EnvironmentHostForTests host, long id)
    {
        var detail = await host.WaitForTaskAsync(id, d => d.Executions().Any(e => e!["status"]!.GetValue<string>() == "running"), what: "a running execution");
        return detail.Executions().First(e => e!["status"]!.GetValue<string>() == "running")!["execution_id"]!.GetValue<string>();
    }

    private static async Task<string> LogsAsync(EnvironmentHostForTests host, long id, string eid)
    {
        var (response, body) = await host.SendAsync(HttpMethod.Get, $"/api/tasks/{id}/executions/{eid}/logs");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"logs: {(int)response.StatusCode} {body?.ToJsonString()}");
        return body!["logs"]!.GetValue<string>();
    }

    private static async Task WaitLogAsync(EnvironmentHostForTests host, long id, string eid, Func<string, bool> done, string what)
    {
        var last = "";
        var ok = await EnvironmentHostForTests.EventuallyAsync(async () => done(last = await LogsAsync(host, id, eid)), Bound);
        Assert.True(ok, $"{what}; log: {last}\nrunner: {string.Join('\n', host.RunnerOutput.TakeLast(30))}");
    }

    /// <summary>The log's length once two reads a second apart agree (bounded).</summary>
    private static async Task<int> SettledLogAsync(EnvironmentHostForTests host, long id, string eid)
    {
        var previous = -1;
        var deadline = DateTime.UtcNow + Bound;
        while (DateTime.UtcNow < deadline)
        {
            var length = (await LogsAsync(host, id, eid)).Length;
            if (length == previous)
            {
                return length;
            }

            previous = length;
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        Assert.Fail("the log of a paused task kept growing");
        return previous;
    }

    /// <summary>The pid of the script's process: its working directory (or its command line) is the task's script directory.</summary>
    private static async Task<int> ProcessOfAsync(EnvironmentHostForTests host, long id)
    {
        var dir = Path.GetFullPath(Path.Combine(host.Share.Path, "scripts", id.ToString(CultureInfo.InvariantCulture)));
        var real = new DirectoryInfo(dir).ResolveLinkTarget(true)?.FullName ?? dir;
        var found = 0;
        var ok = await EnvironmentHostForTests.EventuallyAsync(() =>
        {
            foreach (var proc in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(proc), out var pid))
                {
                    continue;
                }

                try
                {
                    var cmdline = File.ReadAllText(Path.Combine(proc, "cmdline")).Replace('\0', ' ');
                    if (!cmdline.Contains("main.py", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    var cwd = new FileInfo(Path.Combine(proc, "cwd")).LinkTarget;
                    if (cmdline.Contains(dir, StringComparison.Ordinal) || cwd == dir || cwd == real)
                    {
                        found = pid;
                        return Task.FromResult(true);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // Gone or not ours.
                }
            }

            return Task.FromResult(false);
        }, Bound);
        Assert.True(ok, $"no process runs {dir}");
        return found;
    }

    /// <summary>The state letter of /proc/{pid}/stat (after the parenthesised command name), or '?' when gone.</summary>
    private static char StateOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0];
        }
        catch (IOException)
        {
            return '?';
        }
    }

    private static int Lines(string log) => log.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    private static List<string> Entries(string dir) =>
        Directory.Exists(dir) ? [.. Directory.EnumerateFileSystemEntries(dir).Select(e => Path.GetFileName(e)).Order(StringComparer.Ordinal)] : [];

    private static string Quote(string s) => "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    private static byte[] Zip(params (string Name, byte[] Content)[] files)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                using var stream = archive.CreateEntry(name).Open();
                stream.Write(content);
            }
        }

        return buffer.ToArray();
    }

    private static byte[] SymlinkZip()
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var main = archive.CreateEntry("main.py").Open())
            {
                main.Write(Encoding.UTF8.GetBytes("print(1)\n"));
            }

            var link = archive.CreateEntry("passwd");
            link.ExternalAttributes = unchecked((int)0xA1FF_0000); // S_IFLNK | 0777 in the Unix half
            using var target = link.Open();
            target.Write(Encoding.UTF8.GetBytes("/etc/passwd"));
        }

        return buffer.ToArray();
    }
}
