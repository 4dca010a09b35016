using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

/// <summary><c>/api/settings/variables</c> over HTTP with the real runner: scopes, secrets, masking, audit and permissions.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class SettingsVariablesTests(AzuriteFixture azurite)
{
    private const string Printer = "import os\nfor name in ['SYS_ONLY', 'LAYER1', 'LAYER2', 'API_TOKEN']:\n    print(name + '=' + os.environ.get(name, '<unset>'))\n";
    private const string Secret = "tok-XYZ-7731-secret";

    private static async Task<JsonNode> PutAsync(EnvironmentHostForTests host, string name, object body, HttpStatusCode expected = HttpStatusCode.Created)
    {
        var (response, json) = await host.SendAsync(HttpMethod.Put, "/api/settings/variables/" + name, body);
        Assert.True(response.StatusCode == expected, $"PUT {name}: {(int)response.StatusCode} {json?.ToJsonString()}");
        return json!;
    }

    [Fact]
    public async Task Run_SystemNamespaceTaskAndSecret_NarrowestWinsSecretMaskedNeverReturnedAndAudited()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("vars");
        var id = await host.CreateTaskOkAsync(Printer, new Dictionary<string, string> { ["conda_env"] = "vars", ["namespace"] = "team-a", ["delay_seconds"] = "86400", ["task_name"] = "mine" });

        await PutAsync(host, "SYS_ONLY", new { value = "from-system" });
        await PutAsync(host, "LAYER1", new { value = "system-1" });
        await PutAsync(host, "LAYER2", new { value = "system-2" });
        await PutAsync(host, "LAYER1", new { value = "namespace-1", scope = new { @namespace = "team-a" } });
        await PutAsync(host, "LAYER2", new { value = "namespace-2", scope = new { @namespace = "team-a" } });
        var created = await PutAsync(host, "LAYER2", new { value = "task-2", scope = new { task_id = id } });
        Assert.True(created["success"]!.GetValue<bool>());
        Assert.Equal("task", created["variable"]!["scope"]!.GetValue<string>());
        Assert.Equal(id, created["variable"]!["task_id"]!.GetValue<long>());
        var secret = await PutAsync(host, "API_TOKEN", new { value = Secret, type = "secret", scope = new { @namespace = "team-a" } });
        Assert.DoesNotContain(Secret, secret.ToJsonString(), StringComparison.Ordinal);
        Assert.Null(secret["variable"]!["value"]);
        Assert.True(secret["variable"]!["set"]!.GetValue<bool>());

        // Replacing keeps the creation time and answers 200.
        var updated = await PutAsync(host, "SYS_ONLY", new { value = "from-system" }, HttpStatusCode.OK);
        Assert.Equal("Variable updated", updated["message"]!.GetValue<string>());

        var (triggered, _) = await host.SendAsync(HttpMethod.Post, $"/api/tasks/{id}/trigger");
        Assert.Equal(HttpStatusCode.OK, triggered.StatusCode);
        var detail = await host.WaitForTaskAsync(id, d => d.HasFinished(), what: "the run");
        var run = detail.Executions().Single()!;
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        var log = detail["latest_execution"]!["logs"]!.GetValue<string>();
        Assert.Contains("SYS_ONLY=from-system", log, StringComparison.Ordinal);
        Assert.Contains("LAYER1=namespace-1", log, StringComparison.Ordinal);
        Assert.Contains("LAYER2=task-2", log, StringComparison.Ordinal);
        Assert.Contains("API_TOKEN=***", log, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, log, StringComparison.Ordinal);

        // The API never returns the secret: list, one, and filtered list.
        var (_, list) = await host.SendAsync(HttpMethod.Get, "/api/settings/variables");
        Assert.DoesNotContain(Secret, list!.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(7, list["total"]!.GetValue<int>());
        var listed = list["variables"]!.AsArray().Single(v => v!["name"]!.GetValue<string>() == "API_TOKEN")!;
        Assert.Null(listed["value"]);
        Assert.True(listed["set"]!.GetValue<bool>());
        Assert.Equal("secret", listed["type"]!.GetValue<string>());
        Assert.Equal("team-a", listed["namespace"]!.GetValue<string>());
        var plain = list["variables"]!.AsArray().Single(v => v!["name"]!.GetValue<string>() == "LAYER1" && v["scope"]!.GetValue<string>() == "namespace")!;
        Assert.Equal("namespace-1", plain["value"]!.GetValue<string>());
        var (one, oneBody) = await host.SendAsync(HttpMethod.Get, "/api/settings/variables/API_TOKEN?namespace=team-a");
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Null(oneBody!["variable"]!["value"]);
        Assert.DoesNotContain(Secret, oneBody.ToJsonString(), StringComparison.Ordinal);
        var (_, systemOnly) = await host.SendAsync(HttpMethod.Get, "/api/settings/variables?scope=system");
        Assert.Equal(["LAYER1", "LAYER2", "SYS_ONLY"], systemOnly!["variables"]!.AsArray().Select(v => v!["name"]!.GetValue<string>()).ToArray());
        var (_, ofTask) = await host.SendAsync(HttpMethod.Get, $"/api/settings/variables?task_id={id}");
        Assert.Equal("task-2", ofTask!["variables"]!.AsArray().Single()!["value"]!.GetValue<string>());

        // At rest the secret is ciphertext only.
        var table = new TableServiceClient(host.ConnectionString).GetTableClient(host.Prefix + "Variables");
        var row = (await table.GetEntityAsync<TableEntity>("ns:team-a", "API_TOKEN")).Value;
        Assert.False(row.ContainsKey("Value"));
        Assert.True(row.GetBinary("Ciphertext").AsSpan().IndexOf(Encoding.UTF8.GetBytes(Secret)) < 0);

        // The run's read of the secret is audited with the task, the execution and the names; no audit row holds the value.
        var executionId = run["execution_id"]!.GetValue<string>();
        var (_, reads) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation=secret.read");
        var read = reads!["items"]!.AsArray().Single()!;
        var inputs = JsonNode.Parse(read["inputs"]!.GetValue<string>())!;
        Assert.Equal(id, inputs["task_id"]!.GetValue<long>());
        Assert.Equal(executionId, inputs["execution_id"]!.GetValue<string>());
        Assert.Equal(["API_TOKEN"], inputs["secrets"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray());
        var (_, sets) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation=variable.set");
        Assert.Equal(8, sets!["items"]!.AsArray().Count);
        Assert.DoesNotContain(Secret, sets.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("task-2", sets.ToJsonString(), StringComparison.Ordinal);

        // A ciphertext moved into another row does not decrypt: the run fails with the reason, and its process never starts.
        await table.UpsertEntityAsync(new TableEntity("task:" + id, "API_TOKEN") { ["Type"] = "secret", ["Ciphertext"] = row.GetBinary("Ciphertext"), ["UpdatedBy"] = "moved" }, TableUpdateMode.Replace);
        var (retriggered, _) = await host.SendAsync(HttpMethod.Post, $"/api/tasks/{id}/trigger");
        Assert.Equal(HttpStatusCode.OK, retriggered.StatusCode);
        var failed = await host.WaitForTaskAsync(id, d => d.HasFinished(2), what: "the run with a moved ciphertext");
        var failedRun = failed.Executions()[0]!;
        Assert.Equal("failed", failedRun["status"]!.GetValue<string>());
        Assert.Contains("failed authentication", failedRun["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(failedRun["exit_code"]);
        await table.DeleteEntityAsync("task:" + id, "API_TOKEN");

        // Delete: audited, gone, and a second delete is 404.
        var (deleted, deletedBody) = await host.SendAsync(HttpMethod.Delete, "/api/settings/variables/API_TOKEN?namespace=team-a");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.True(deletedBody!["success"]!.GetValue<bool>());
        var (again, againBody) = await host.SendAsync(HttpMethod.Delete, "/api/settings/variables/API_TOKEN?namespace=team-a");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal("Variable 'API_TOKEN' not found", againBody!["message"]!.GetValue<string>());
        var (_, deletes) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation=variable.delete");
        Assert.Single(deletes!["items"]!.AsArray());
    }

    [Fact]
    public async Task Permissions_UserKey_OnlyItsNamespaceAndTasks_BadInputIs400AndChangesNothing()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("vars-perm");
        var mine = await host.CreateTaskOkAsync("print(1)\n", new Dictionary<string, string> { ["conda_env"] = "vars-perm", ["namespace"] = "team-a", ["delay_seconds"] = "86400", ["task_name"] = "mine" });
        var theirs = await host.CreateTaskOkAsync("print(1)\n", new Dictionary<string, string> { ["conda_env"] = "vars-perm", ["namespace"] = "team-b", ["delay_seconds"] = "86400", ["task_name"] = "theirs" });
        await PutAsync(host, "SYS_VAR", new { value = "s" });
        await PutAsync(host, "B_VAR", new { value = "b", scope = new { @namespace = "team-b" } });
        await PutAsync(host, "B_TASK", new { value = "b", scope = new { task_id = theirs } });

        using var key = await host.Client.PostAsJsonAsync(new Uri("/api/keys", UriKind.Relative), new { name = "vars-bot", role = "user", @namespace = "team-a" });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        using var user = host.Factory.CreateKeyedClient(JsonNode.Parse(await key.Content.ReadAsStringAsync())!["key"]!["value"]!.GetValue<string>());

        async Task<(HttpStatusCode Status, JsonNode? Body)> UserAsync(HttpMethod method, string url, object? body = null)
        {
            using var request = new HttpRequestMessage(method, url) { Content = body is null ? null : JsonContent.Create(body) };
            using var response = await user.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
        }

        async Task AssertForbiddenAsync(HttpMethod method, string url, object? body = null)
        {
            var (status, json) = await UserAsync(method, url, body);
            Assert.True(status == HttpStatusCode.Forbidden, $"{method} {url}: {(int)status} {json?.ToJsonString()}");
            Assert.False(json!["success"]!.GetValue<bool>());
            Assert.Equal("Unauthorized - Insufficient privileges", json["message"]!.GetValue<string>());
            Assert.NotNull(json["error"]);
        }

        await AssertForbiddenAsync(HttpMethod.Put, "/api/settings/variables/X", new { value = "1" });
        await AssertForbiddenAsync(HttpMethod.Put, "/api/settings/variables/X", new { value = "1", scope = new { @namespace = "team-b" } });
        await AssertForbiddenAsync(HttpMethod.Put, "/api/settings/variables/X", new { value = "1", scope = new { task_id = theirs } });
        await AssertForbiddenAsync(HttpMethod.Get, "/api/settings/variables/SYS_VAR");
        await AssertForbiddenAsync(HttpMethod.Get, "/api/settings/variables?namespace=team-b");
        await AssertForbiddenAsync(HttpMethod.Get, $"/api/settings/variables?task_id={theirs}");
        await AssertForbiddenAsync(HttpMethod.Delete, "/api/settings/variables/SYS_VAR");
        await AssertForbiddenAsync(HttpMethod.Delete, "/api/settings/variables/B_VAR?namespace=team-b");

        var (nsStatus, _) = await UserAsync(HttpMethod.Put, "/api/settings/variables/A_VAR", new { value = "a", scope = new { @namespace = "team-a" } });
        Assert.Equal(HttpStatusCode.Created, nsStatus);
        var (taskStatus, taskBody) = await UserAsync(HttpMethod.Put, "/api/settings/variables/A_TASK", new { value = "t", type = "secret", scope = new { task_id = mine } });
        Assert.Equal(HttpStatusCode.Created, taskStatus);
        Assert.Equal("vars-bot", taskBody!["variable"]!["updated_by"]!.GetValue<string>());
        var (missingTask, missingBody) = await UserAsync(HttpMethod.Put, "/api/settings/variables/A_TASK", new { value = "t", scope = new { task_id = 99999 } });
        Assert.Equal(HttpStatusCode.NotFound, missingTask);
        Assert.Equal("Task with ID 99999 not found", missingBody!["message"]!.GetValue<string>());

        // A user key's list holds its namespace's and its tasks' variables only.
        var (_, visible) = await UserAsync(HttpMethod.Get, "/api/settings/variables");
        Assert.Equal(["A_VAR", "A_TASK"], visible!["variables"]!.AsArray().Select(v => v!["name"]!.GetValue<string>()).ToArray());

        var (_, before) = await host.SendAsync(HttpMethod.Get, "/api/settings/variables");
        var (_, auditBefore) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation=variable.set");
        var bad = new (string Name, object Body, string Error)[]
        {
            ("1BAD", new { value = "x" }, "name must be"),
            ("BAD-NAME", new { value = "x" }, "name must be"),
            (new string('A', 129), new { value = "x" }, "name must be"),
            ("PATH", new { value = "/tmp" }, "set by the runner"),
            ("VIRTUAL_ENV", new { value = "/tmp" }, "set by the runner"),
            ("HOME", new { value = "/tmp" }, "set by the runner"),
            ("ENVFABRIC_OUTPUT_DIR", new { value = "/tmp" }, "set by the runner"),
            ("OK_NAME", new { type = "plain" }, "value is required"),
            ("OK_NAME", new { value = "x", type = "weird" }, "type must be"),
            ("OK_NAME", new { value = new string('x', 32 * 1024 + 1) }, "at most 32768 bytes"),
            ("OK_NAME", new { value = "x", scope = new { @namespace = "team-a", task_id = mine } }, "not both"),
            ("OK_NAME", new { value = "x", scope = new { @namespace = "bad/ns" } }, "namespace must be"),
            ("OK_NAME", new { value = "x", scope = new { task_id = 0 } }, "task_id must be"),
        };
        foreach (var (name, body, error) in bad)
        {
            var (response, json) = await host.SendAsync(HttpMethod.Put, "/api/settings/variables/" + name, body);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{name}: {(int)response.StatusCode} {json?.ToJsonString()}");
            Assert.False(json!["success"]!.GetValue<bool>());
            Assert.Equal("Invalid variable", json["message"]!.GetValue<string>());
            Assert.Contains(error, json["error"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        using var malformed = new StringContent("{\"value\": ", Encoding.UTF8, "application/json");
        using var broken = await host.Client.PutAsync(new Uri("/api/settings/variables/OK_NAME", UriKind.Relative), malformed);
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.False(JsonNode.Parse(await broken.Content.ReadAsStringAsync())!["success"]!.GetValue<bool>());
        var (badQuery, badQueryBody) = await host.SendAsync(HttpMethod.Get, "/api/settings/variables?namespace=team-a&task_id=1");
        Assert.Equal(HttpStatusCode.BadRequest, badQuery.StatusCode);
        Assert.Equal("Invalid scope", badQueryBody!["message"]!.GetValue<string>());
        var (badScope, _) = await host.SendAsync(HttpMethod.Delete, "/api/settings/variables/SYS_VAR?scope=galaxy");
        Assert.Equal(HttpStatusCode.BadRequest, badScope.StatusCode);

        var (_, after) = await host.SendAsync(HttpMethod.Get, "/api/settings/variables");
        var (_, auditAfter) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation=variable.set");
        Assert.Equal(before!.ToJsonString(), after!.ToJsonString());
        Assert.Equal(auditBefore!["count"]!.GetValue<int>(), auditAfter!["count"]!.GetValue<int>());
        Assert.Equal(5, after["total"]!.GetValue<int>());
    }
}
