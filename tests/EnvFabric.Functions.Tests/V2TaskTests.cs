using System.Net;
using System.Text.Json.Nodes;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Pools;
using EnvFabric.Core.Tasks;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>Seed 002's <c>/v2/tasks</c> over HTTP with the real runner and a venv environment from the test wheelhouse.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class V2TaskTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    /// <summary>A python template: the script prints <c>.value</c> as JSON and the variable GREETING the schema sets from <c>.extra</c>.</summary>
    private const string PythonSchema = """
        {
          "environment": {{ .extra.environment | quote }},
          "command": "python main.py {{ .value.word }}",
          "script": "import os, sys\nprint('value=' + os.environ['VALUE'])\nprint('arg=' + sys.argv[1])\nprint('greeting=' + os.environ['GREETING'])\n",
          "variables": {"GREETING": {{ printf "%s from %s" .extra.greeting .task.namespace | quote }}, "VALUE": {{ toJson .value | quote }}}
        }
        """;

    private const string ShellSchema = """{"environment": {{ .extra.environment | quote }}, "command": "python -c \"print('shell says {{ .value.word }}')\""}""";

    /// <summary>A pool configuration the tests choose (the pools engineer's file loader is not part of this host yet).</summary>
    private sealed class FixedPools(PoolConfiguration current) : IPoolConfiguration
    {
        public PoolConfiguration Current => current;

        public PoolReloadResult Reload() => new(true, null, current);
    }

    private static readonly PoolConfiguration Pools = new()
    {
        Pools = [new PoolDefinition { Name = "default" }, new PoolDefinition { Name = "gpu", Gpus = 1 }, new PoolDefinition { Name = "secure" }],
        Queues = [new QueueDefinition { Name = "default", Pool = "default" }],
        Policies = [new PoolPolicy { Name = "secure-only-team-a", Pool = "secure", Namespaces = ["team-a"] }],
    };

    private Task<EnvironmentHostForTests> StartAsync(bool runner) =>
        EnvironmentHostForTests.StartAsync(azurite, runner: runner, services: s => s.AddSingleton<IPoolConfiguration>(new FixedPools(Pools)));

    private static async Task CreateTemplateAsync(EnvironmentHostForTests host, string name, string type, string schema, object? extra = null)
    {
        var (response, body) = await host.SendAsync(HttpMethod.Post, "/v2/templates", new { name, type, schema, extra = extra ?? new { } });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"template {name}: {(int)response.StatusCode} {body?.ToJsonString()}");
    }

    private static async Task<(string Uuid, string RunId, long TaskId)> SubmitOkAsync(EnvironmentHostForTests host, object body)
    {
        var (response, answer) = await host.SendAsync(HttpMethod.Post, "/v2/tasks", body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"submit: {(int)response.StatusCode} {answer?.ToJsonString()}");
        Assert.Equal("0", answer!["code"]!.GetValue<string>());
        Assert.True(answer["success"]!.GetValue<bool>());
        var uuid = answer["data"]!["uuid"]!.GetValue<string>();
        var (_, detail) = await host.SendAsync(HttpMethod.Get, $"/v2/tasks/{uuid}");
        return (uuid, answer["data"]!["run_id"]!.GetValue<string>(), detail!["data"]!["task_id"]!.GetValue<long>());
    }

    private static void AssertError(HttpResponseMessage response, JsonNode? body, HttpStatusCode status, string code, string contains)
    {
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode} {body?.ToJsonString()}");
        Assert.Equal(code, body!["code"]!.GetValue<string>());
        Assert.False(body["success"]!.GetValue<bool>());
        Assert.Contains(contains, body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static async Task<JsonNode> WaitForV2Async(EnvironmentHostForTests host, string uuid, Func<JsonNode, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + Bound;
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var (response, body) = await host.SendAsync(HttpMethod.Get, $"/v2/tasks/{uuid}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            last = body!["data"]!;
            if (done(last))
            {
                return last;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"task {uuid}: {what} not reached; last: {last?.ToJsonString()}\nrunner: {string.Join('\n', host.RunnerOutput.TakeLast(30))}");
        return last!;
    }

    /// <summary>A client of the host under test (with its pool configuration) that sends <paramref name="key"/>.</summary>
    private static HttpClient KeyedClient(EnvironmentHostForTests host, string key)
    {
        var client = host.App.CreateClient();
        client.DefaultRequestHeaders.Add("x-functions-key", key);
        return client;
    }

    private static async Task<int> CountTasksAsync(EnvironmentHostForTests host)
    {
        var (_, list) = await host.SendAsync(HttpMethod.Get, "/api/tasks");
        return list!.AsArray().Count;
    }

    [Fact]
    public async Task Submit_PythonAndShellTemplates_RunAndShowInBothDialects()
    {
        await using var host = await StartAsync(runner: true);
        await host.CreateCondaAsync("v2env", "alpha==1.0");
        await CreateTemplateAsync(host, "printer", "python", PythonSchema, new { environment = "v2env", greeting = "hello" });
        await CreateTemplateAsync(host, "shell-job", "shell", ShellSchema, new { environment = "v2env" });

        var (uuid, runId, taskId) = await SubmitOkAsync(host, new
        {
            uuid = "3a1e5f8b-2c4d-49f1-a68c-1b3d5e7f2a9f",
            template = "printer",
            name = "printer-1",
            extra = "{\"greeting\": \"bonjour\"}",
            value = new { word = "spam", n = 3 },
            prior = 5,
            timeout = "600",
            quotas = "{\"cpu\": \"500m\", \"memory\": \"512Mi\"}",
            tags = "project=ai-models,type=training",
            adjustable = true,
        });
        Assert.Equal("3a1e5f8b-2c4d-49f1-a68c-1b3d5e7f2a9f", uuid);
        Assert.Matches(@"^\d{17}-[0-9a-f]{8}$", runId);

        var done = await WaitForV2Async(host, uuid, d => d["status"]!.GetValue<string>() == "completed", "a completed run");
        Assert.Equal(runId, done["run_id"]!.GetValue<string>());
        Assert.Equal("printer", done["template"]!.GetValue<string>());
        Assert.Equal("printer-1", done["name"]!.GetValue<string>());
        Assert.Equal("default", done["namespace"]!.GetValue<string>());
        Assert.Equal("default", done["pool"]!.GetValue<string>());
        Assert.Equal("600", done["timeout"]!.GetValue<string>());
        Assert.Equal(5, done["prior"]!.GetValue<int>());
        Assert.True(done["adjustable"]!.GetValue<bool>());
        Assert.Equal("project=ai-models,type=training", done["tags"]!.GetValue<string>());
        Assert.Equal("master", done["created_by"]!.GetValue<string>());
        var quotas = JsonNode.Parse(done["quotas"]!.GetValue<string>())!;
        Assert.Equal(0.5, quotas["cpu"]!.GetValue<double>());
        Assert.Equal("512Mi", quotas["memory"]!.GetValue<string>());
        Assert.Equal("spam", JsonNode.Parse(done["args"]!.GetValue<string>())!["word"]!.GetValue<string>());
        Assert.NotNull(done["start_time"]);
        Assert.NotNull(done["end_time"]);
        Assert.True(File.Exists(Path.Combine(host.Share.Path, "scripts", taskId.ToString(System.Globalization.CultureInfo.InvariantCulture), "main.py")));

        var (status, statusBody) = await host.SendAsync(HttpMethod.Get, $"/v2/tasks/{uuid}/status");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal("completed", statusBody!["data"]!["status"]!.GetValue<string>());

        using (var logs = await host.Client.GetAsync(new Uri($"/v2/tasks/{uuid}/logs", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, logs.StatusCode);
            Assert.Equal("text/plain", logs.Content.Headers.ContentType!.MediaType);
            var text = await logs.Content.ReadAsStringAsync();
            Assert.Contains("value={", text, StringComparison.Ordinal);
            Assert.Contains("\"word\":\"spam\"", text, StringComparison.Ordinal);
            Assert.Contains("\"n\":3", text, StringComparison.Ordinal);
            Assert.Contains("arg=spam", text, StringComparison.Ordinal);
            Assert.Contains("greeting=bonjour from default", text, StringComparison.Ordinal);
            Assert.DoesNotContain("##[envfabric:end]", text, StringComparison.Ordinal);
        }

        // The same task through seed 003, by its id.
        var (api, apiBody) = await host.SendAsync(HttpMethod.Get, $"/api/tasks/{taskId}");
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        Assert.Equal("printer-1", apiBody!["task"]!["task_name"]!.GetValue<string>());
        Assert.Equal("v2env", apiBody["task"]!["conda_env"]!.GetValue<string>());
        Assert.Equal("python main.py spam", apiBody["task"]!["command"]!.GetValue<string>());
        Assert.Equal(runId, apiBody.Executions().Single()!["execution_id"]!.GetValue<string>());

        // A shell template: a command, no script.
        var (shellUuid, shellRun, _) = await SubmitOkAsync(host, new { template = "shell-job", value = "{\"word\": \"eggs\"}" });
        Assert.True(Guid.TryParse(shellUuid, out _));
        Assert.NotEmpty(shellRun);
        await WaitForV2Async(host, shellUuid, d => d["status"]!.GetValue<string>() == "completed", "the shell task completed");
        var shellLog = await host.Client.GetStringAsync(new Uri($"/v2/tasks/{shellUuid}/logs", UriKind.Relative));
        Assert.Contains("shell says eggs", shellLog, StringComparison.Ordinal);

        // A seed 003 task shows in /v2/tasks by its id; the v2 tasks show in /api/tasks.
        var apiTask = await host.CreateTaskOkAsync("print('from api')\n", new Dictionary<string, string> { ["conda_env"] = "v2env", ["task_name"] = "api-task", ["cron_expression"] = "0 0 1 1 *" });
        var (byId, byIdBody) = await host.SendAsync(HttpMethod.Get, $"/v2/tasks/{apiTask}");
        Assert.Equal(HttpStatusCode.OK, byId.StatusCode);
        Assert.Equal(apiTask.ToString(System.Globalization.CultureInfo.InvariantCulture), byIdBody!["data"]!["uuid"]!.GetValue<string>());
        Assert.Equal("api-task", byIdBody["data"]!["name"]!.GetValue<string>());
        Assert.Equal("0 0 1 1 *", byIdBody["data"]!["schedule"]!.GetValue<string>());
        var (_, apiList) = await host.SendAsync(HttpMethod.Get, "/api/tasks");
        Assert.Equal(3, apiList!.AsArray().Count);
        Assert.Contains(apiList.AsArray(), t => t!["task_id"]!.GetValue<long>() == taskId);

        // The list: total, paging, the status filter.
        var (list, listBody) = await host.SendAsync(HttpMethod.Get, "/v2/tasks");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(3, listBody!["data"]!["total"]!.GetValue<int>());
        Assert.Equal(3, listBody["data"]!["tasks"]!.AsArray().Count);
        var (_, page2) = await host.SendAsync(HttpMethod.Get, "/v2/tasks?page=2&size=2");
        Assert.Equal(3, page2!["data"]!["total"]!.GetValue<int>());
        Assert.Single(page2["data"]!["tasks"]!.AsArray());
        var (_, completed) = await host.SendAsync(HttpMethod.Get, "/v2/tasks?status=completed&size=1");
        Assert.Equal(2, completed!["data"]!["total"]!.GetValue<int>());
        Assert.Single(completed["data"]!["tasks"]!.AsArray());
        var (_, scheduled) = await host.SendAsync(HttpMethod.Get, "/v2/tasks?status=scheduled");
        Assert.Equal(apiTask, scheduled!["data"]!["tasks"]!.AsArray().Single()!["task_id"]!.GetValue<long>());
        foreach (var bad in new[] { "page=0", "size=101", "size=x", "status=done" })
        {
            var (refused, refusedBody) = await host.SendAsync(HttpMethod.Get, "/v2/tasks?" + bad);
            AssertError(refused, refusedBody, HttpStatusCode.BadRequest, "1001", bad.StartsWith("status", StringComparison.Ordinal) ? "status 'done'" : "page must be");
        }

        // Tags are replaced, as a string or an array; bad tags change nothing.
        var (tagged, taggedBody) = await host.SendAsync(HttpMethod.Post, $"/v2/tasks/{uuid}/tags", new { tags = new[] { "team=vision", "stage=prod" } });
        Assert.Equal(HttpStatusCode.OK, tagged.StatusCode);
        Assert.Null(taggedBody!["data"]);
        var (badTags, badTagsBody) = await host.SendAsync(HttpMethod.Post, $"/v2/tasks/{uuid}/tags", new { tags = "oops" });
        AssertError(badTags, badTagsBody, HttpStatusCode.BadRequest, "1001", "tag 'oops'");
        var (_, retagged) = await host.SendAsync(HttpMethod.Get, $"/v2/tasks/{uuid}");
        Assert.Equal("stage=prod,team=vision", retagged!["data"]!["tags"]!.GetValue<string>());
        var (tagsById, _) = await host.SendAsync(HttpMethod.Post, $"/v2/tasks/{taskId}/tags", new { tags = "a=b" });
        Assert.Equal(HttpStatusCode.OK, tagsById.StatusCode);
        Assert.Equal("a=b", (await host.SendAsync(HttpMethod.Get, $"/v2/tasks/{uuid}")).Body!["data"]!["tags"]!.GetValue<string>());

        var (missing, missingBody) = await host.SendAsync(HttpMethod.Get, "/v2/tasks/no-such-task/status");
        AssertError(missing, missingBody, HttpStatusCode.NotFound, "1002", "no-such-task");
        var (missingLogs, missingLogsBody) = await host.SendAsync(HttpMethod.Get, "/v2/tasks/999999/logs");
        AssertError(missingLogs, missingLogsBody, HttpStatusCode.NotFound, "1002", "999999");

        // The submit, the tags and their audit rows.
        var audit = host.Services.GetRequiredService<Core.Audit.IAuditLog>();
        var rows = await audit.QueryAsync(new Core.Audit.AuditQuery { OperationId = taskId.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        Assert.Contains(rows, r => r.Operation == "task.create" && r.Inputs.Contains("\"dialect\":\"v2\"", StringComparison.Ordinal));
        Assert.Equal(2, rows.Count(r => r.Operation == "task.update"));
    }

    [Fact]
    public async Task Submit_BadInput_IsRefusedWithItsCodeAndLeavesNoTask()
    {
        // No runner: the valid submits queue, which is all this test needs; the environment is a ready row.
        await using var host = await StartAsync(runner: false);
        var environments = host.Services.GetRequiredService<IEnvironmentRepository>();
        await environments.AddAsync(new EnvironmentRecord { Name = "ready-env", PythonVersion = "3.11", Path = "envs/ready-env", Status = EnvironmentStatus.Ready });
        await environments.AddAsync(new EnvironmentRecord { Name = "half-built", PythonVersion = "3.11", Path = "envs/half-built", Status = EnvironmentStatus.Creating });
        await CreateTemplateAsync(host, "ok", "python", """{"environment": "ready-env", "script": "print(1)"}""");
        await CreateTemplateAsync(host, "sh", "shell", """{"environment": {{ .extra.env | quote }}, "command": {{ .value.cmd | quote }}}""", new { env = "ready-env" });
        await CreateTemplateAsync(host, "needs-key", "python", "{\n\"environment\": \"ready-env\",\n\"command\": \"python main.py {{ .value.missing.deeper }}\"\n}");
        await CreateTemplateAsync(host, "pod-job", "pod", "kind: Pod");
        await CreateTemplateAsync(host, "uses-project", "python", """{"environment": "ready-env", "project": "nowhere"}""");

        var cases = new (object Body, HttpStatusCode Status, string Code, string Contains)[]
        {
            (new { name = "x" }, HttpStatusCode.BadRequest, "1001", "template is required"),
            (new { template = "nope" }, HttpStatusCode.BadRequest, "1001", "template 'nope' not found"),
            (new { template = "pod-job" }, HttpStatusCode.BadRequest, "1001", "executes python and shell"),
            (new { template = "needs-key" }, HttpStatusCode.BadRequest, "1001", "template: needs-key:3:"),
            (new { template = "needs-key", value = "{\"missing\": {}}" }, HttpStatusCode.BadRequest, "1001", "map has no entry for key \"deeper\""),
            (new { template = "sh", value = new { cmd = "echo 'unclosed" } }, HttpStatusCode.BadRequest, "1001", "command"),
            (new { template = "sh", extra = new { env = "half-built" }, value = new { cmd = "echo hi" } }, HttpStatusCode.BadRequest, "1001", "'half-built' is not ready"),
            (new { template = "sh", extra = new { env = "absent-env" }, value = new { cmd = "echo hi" } }, HttpStatusCode.BadRequest, "1001", "'absent-env' does not exist"),
            (new { template = "uses-project" }, HttpStatusCode.BadRequest, "1001", "project 'nowhere'"),
            (new { template = "ok", uuid = "a/b" }, HttpStatusCode.BadRequest, "1001", "uuid 'a/b' is not valid"),
            (new { template = "ok", uuid = new string('u', 65) }, HttpStatusCode.BadRequest, "1001", "is not valid"),
            (new { template = "ok", quotas = "{\"memory\": \"16GB\"}" }, HttpStatusCode.BadRequest, "1001", "quotas.memory"),
            (new { template = "ok", quotas = new { cpu = "many" } }, HttpStatusCode.BadRequest, "1001", "quotas.cpu"),
            (new { template = "ok", quotas = "{\"gpu\": 1}" }, HttpStatusCode.BadRequest, "1005", "offers no GPU"),
            (new { template = "ok", pool = "gpu", quotas = "{\"gpu\": 2}" }, HttpStatusCode.BadRequest, "1005", "offers 1 GPU(s)"),
            (new { template = "ok", pool = "elsewhere" }, HttpStatusCode.NotFound, "1004", "pool 'elsewhere' not found"),
            (new { template = "ok", pool = "secure" }, HttpStatusCode.BadRequest, "1001", "pool 'secure' accepts no task of namespace 'default'"),
            (new { template = "ok", times = 3 }, HttpStatusCode.BadRequest, "1001", "only with schedule"),
            (new { template = "ok", schedule = "every day" }, HttpStatusCode.BadRequest, "1001", "schedule 'every day'"),
            (new { template = "ok", times = 0, schedule = "0 0 * * *" }, HttpStatusCode.BadRequest, "1001", "times must be"),
            (new { template = "ok", tags = "a=b,bad tag=x" }, HttpStatusCode.BadRequest, "1001", "tags: tag 'bad tag=x'"),
            (new { template = "ok", prior = 5000 }, HttpStatusCode.BadRequest, "1001", "prior must be"),
            (new { template = "ok", timeout = "soon" }, HttpStatusCode.BadRequest, "1001", "timeout must be"),
            (new { template = "ok", adjustable = "maybe" }, HttpStatusCode.BadRequest, "1001", "adjustable"),
            (new { template = "ok", callback = "ftp://example.com/x" }, HttpStatusCode.BadRequest, "1001", "callback"),
            (new { template = "ok", extra = "[1]" }, HttpStatusCode.BadRequest, "1001", "extra must be a JSON object"),
            (new { template = "ok", value = "{oops" }, HttpStatusCode.BadRequest, "1001", "value is not valid JSON"),
        };
        foreach (var (body, status, code, contains) in cases)
        {
            var (response, answer) = await host.SendAsync(HttpMethod.Post, "/v2/tasks", body);
            AssertError(response, answer, status, code, contains);
            Assert.Equal(0, await CountTasksAsync(host));
        }

        // A duplicate uuid or name is refused, and leaves the first task alone.
        var first = await SubmitOkAsync(host, new { template = "ok", uuid = "dup-1", name = "first", schedule = "0 0 1 1 *", times = 2 });
        Assert.Equal("", first.RunId);
        var (dupUuid, dupUuidBody) = await host.SendAsync(HttpMethod.Post, "/v2/tasks", new { template = "ok", uuid = "dup-1", name = "second" });
        AssertError(dupUuid, dupUuidBody, HttpStatusCode.BadRequest, "1001", "uuid 'dup-1' already exists");
        var (dupName, dupNameBody) = await host.SendAsync(HttpMethod.Post, "/v2/tasks", new { template = "ok", uuid = "dup-2", name = "first" });
        AssertError(dupName, dupNameBody, HttpStatusCode.BadRequest, "1001", "name 'first' already exists");
        Assert.Equal(1, await CountTasksAsync(host));
        var tasks = host.Services.GetRequiredService<ITaskRepository>();
        Assert.Null(await tasks.FindByUuidAsync("dup-2"));
        Assert.Null(await tasks.FindByNameAsync("second"));
        var stored = (await tasks.GetAsync(first.TaskId))!;
        Assert.Equal(TriggerKind.Cron, stored.Trigger.Kind);
        Assert.Equal(2, stored.MaxRuns);
        Assert.Equal(1, stored.Prior);
        var (detail, detailBody) = await host.SendAsync(HttpMethod.Get, "/v2/tasks/dup-1");
        Assert.Equal(HttpStatusCode.OK, detail.StatusCode);
        Assert.Equal(2, detailBody!["data"]!["times"]!.GetValue<int>());
        Assert.Equal("0 0 1 1 *", detailBody["data"]!["schedule"]!.GetValue<string>());

        // Namespaces: a user key submits only into its own, and sees only its own.
        var (keyA, keyABody) = await host.SendAsync(HttpMethod.Post, "/api/keys", new { name = "team-a-bot", role = "user", @namespace = "team-a" });
        Assert.Equal(HttpStatusCode.Created, keyA.StatusCode);
        var (keyB, keyBBody) = await host.SendAsync(HttpMethod.Post, "/api/keys", new { name = "team-b-bot", role = "user", @namespace = "team-b" });
        Assert.Equal(HttpStatusCode.Created, keyB.StatusCode);
        using var clientA = KeyedClient(host, keyABody!["key"]!["value"]!.GetValue<string>());
        using var clientB = KeyedClient(host, keyBBody!["key"]!["value"]!.GetValue<string>());

        using (var foreign = await clientA.PostAsync(new Uri("/v2/tasks", UriKind.Relative), System.Net.Http.Json.JsonContent.Create(new { template = "ok", @namespace = "team-b" })))
        {
            AssertError(foreign, JsonNode.Parse(await foreign.Content.ReadAsStringAsync()), HttpStatusCode.Forbidden, "1001", "namespace 'team-b'");
        }

        Assert.Equal(1, await CountTasksAsync(host));
        string ownUuid;
        using (var own = await clientA.PostAsync(new Uri("/v2/tasks", UriKind.Relative), System.Net.Http.Json.JsonContent.Create(new { template = "ok", pool = "secure", schedule = "0 0 1 1 *" })))
        {
            var ownBody = JsonNode.Parse(await own.Content.ReadAsStringAsync())!;
            Assert.True(own.StatusCode == HttpStatusCode.Created, ownBody.ToJsonString());
            ownUuid = ownBody["data"]!["uuid"]!.GetValue<string>();
        }

        using (var ownDetail = await clientA.GetAsync(new Uri($"/v2/tasks/{ownUuid}", UriKind.Relative)))
        {
            var data = JsonNode.Parse(await ownDetail.Content.ReadAsStringAsync())!["data"]!;
            Assert.Equal("team-a", data["namespace"]!.GetValue<string>());
            Assert.Equal("secure", data["pool"]!.GetValue<string>());
            Assert.Equal("team-a-bot", data["created_by"]!.GetValue<string>());
        }

        foreach (var (method, path) in new[] { (HttpMethod.Get, ""), (HttpMethod.Get, "/status"), (HttpMethod.Get, "/logs"), (HttpMethod.Delete, ""), (HttpMethod.Post, "/tags") })
        {
            using var request = new HttpRequestMessage(method, $"/v2/tasks/{ownUuid}{path}");
            if (method == HttpMethod.Post)
            {
                request.Content = System.Net.Http.Json.JsonContent.Create(new { tags = "x=y" });
            }

            using var response = await clientB.SendAsync(request);
            AssertError(response, JsonNode.Parse(await response.Content.ReadAsStringAsync()), HttpStatusCode.NotFound, "1002", ownUuid);
        }

        using (var listB = await clientB.GetAsync(new Uri("/v2/tasks", UriKind.Relative)))
        {
            Assert.Equal(0, JsonNode.Parse(await listB.Content.ReadAsStringAsync())!["data"]!["total"]!.GetValue<int>());
        }

        using (var listA = await clientA.GetAsync(new Uri("/v2/tasks", UriKind.Relative)))
        {
            var data = JsonNode.Parse(await listA.Content.ReadAsStringAsync())!["data"]!;
            Assert.Equal(1, data["total"]!.GetValue<int>());
            Assert.Equal(ownUuid, data["tasks"]!.AsArray().Single()!["uuid"]!.GetValue<string>());
        }

        Assert.Equal("scheduled", (await tasks.GetAsync((await tasks.FindByUuidAsync(ownUuid))!.Value))!.Status);

        // A task without any run yet has an empty log.
        using (var noRun = await clientA.GetAsync(new Uri($"/v2/tasks/{ownUuid}/logs", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, noRun.StatusCode);
            Assert.Equal("", await noRun.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Logs_FollowARunningInstance_AndDeleteStopsOne()
    {
        await using var host = await StartAsync(runner: true);
        await host.CreateCondaAsync("v2env", "alpha==1.0");
        const string waiter = """{"environment": "v2env", "script": "import os, time\nprint('started', flush=True)\nwhile not os.path.exists('go'):\n    time.sleep(0.1)\nprint('finished', flush=True)\n"}""";
        const string looper = """{"environment": "v2env", "script": "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.2)\n"}""";
        await CreateTemplateAsync(host, "waiter", "python", waiter);
        await CreateTemplateAsync(host, "looper", "python", looper);

        var (uuid, runId, taskId) = await SubmitOkAsync(host, new { template = "waiter" });
        await WaitForV2Async(host, uuid, d => d["status"]!.GetValue<string>() == "running" && d["run_id"]?.GetValue<string>() == runId, "a running instance");

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/tasks/{uuid}/logs");
        using var response = await host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("utf-8", response.Content.Headers.ContentType!.CharSet);
        await using var stream = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(stream);
        using var readBound = new CancellationTokenSource(Bound);
        var seen = new List<string>();
        while (!seen.Contains("started"))
        {
            var line = await reader.ReadLineAsync(readBound.Token);
            Assert.True(line is not null, "the stream ended before the instance printed: " + string.Join('|', seen));
            seen.Add(line!);
        }

        // The instance goes on only now; the open stream carries what it prints next, then ends with it.
        await File.WriteAllTextAsync(Path.Combine(host.Share.Path, "scripts", taskId.ToString(System.Globalization.CultureInfo.InvariantCulture), "go"), "");
        var rest = await reader.ReadToEndAsync(readBound.Token);
        Assert.Contains("finished", rest, StringComparison.Ordinal);
        await WaitForV2Async(host, uuid, d => d["status"]!.GetValue<string>() == "completed", "the waiter completed");

        // DELETE stops a running instance: its execution ends cancelled, the task is stopped and kept.
        var (loopUuid, loopRun, loopId) = await SubmitOkAsync(host, new { template = "looper" });
        await WaitForV2Async(host, loopUuid, d => d["status"]!.GetValue<string>() == "running", "a running looper");
        Assert.True(
            await EnvironmentHostForTests.EventuallyAsync(async () => (await host.Client.GetStringAsync(new Uri($"/api/tasks/{loopId}/executions/{loopRun}/logs", UriKind.Relative))).Contains("tick", StringComparison.Ordinal), Bound),
            "the looper prints");
        var (stopped, stoppedBody) = await host.SendAsync(HttpMethod.Delete, $"/v2/tasks/{loopUuid}");
        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        Assert.Equal("0", stoppedBody!["code"]!.GetValue<string>());
        Assert.Null(stoppedBody["data"]);
        var detail = await host.WaitForTaskAsync(loopId, d => d.HasFinished(), Bound, "the looper's execution ended");
        Assert.Equal("cancelled", detail.Executions().Single()!["status"]!.GetValue<string>());
        Assert.Equal("stopped", detail["task"]!["status"]!.GetValue<string>());
        var (status, statusBody) = await host.SendAsync(HttpMethod.Get, $"/v2/tasks/{loopUuid}/status");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal("stopped", statusBody!["data"]!["status"]!.GetValue<string>());
        var rows = await host.Services.GetRequiredService<Core.Audit.IAuditLog>().QueryAsync(
            new Core.Audit.AuditQuery { Operation = "task.stop", OperationId = loopId.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        Assert.Contains("\"previous_status\":\"running\"", Assert.Single(rows).Inputs, StringComparison.Ordinal);
    }
}
