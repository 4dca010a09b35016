using System.Net;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

/// <summary>Seed 000 (<c>/api/conda</c>) over HTTP with the real runner, the venv backend and a test wheelhouse.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class EnvironmentCondaTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task CondaRoutes_Lifecycle_CreateInspectChangeRenameDelete()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);

        // Create (201) with two packages.
        var created = await host.CreateCondaAsync("ml", "alpha==1.0", "gamma");
        Assert.True(created["success"]!.GetValue<bool>());
        Assert.Equal("Environment created successfully", created["message"]!.GetValue<string>());
        Assert.True(created["env"]!["package_count"]!.GetValue<int>() >= 2);

        // Export: the lock of the build (pip freeze for venv) and the requested specs.
        var (export, exported) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/ml/export");
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.Equal("venv", exported!["backend"]!.GetValue<string>());
        Assert.Equal("pip-freeze", exported["lock_kind"]!.GetValue<string>());
        Assert.Contains("alpha==1.0", exported["lock"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["alpha==1.0", "gamma"], exported["requested_packages"]!.AsArray().Select(p => p!.GetValue<string>()));
        var (noExport, noExportBody) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/nothing-here/export");
        Assert.Equal(HttpStatusCode.NotFound, noExport.StatusCode);
        Assert.Equal("Environment 'nothing-here' not found", noExportBody!["message"]!.GetValue<string>());

        // List, plain and NDJSON.
        var (list, listBody) = await host.SendAsync(HttpMethod.Get, "/api/conda/environments");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var item = listBody!.AsArray().Single()!;
        Assert.Equal("ml", item["name"]!.GetValue<string>());
        Assert.True(item["is_managed_by_container"]!.GetValue<bool>());
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", item["created_at"]!.GetValue<string>());
        var stream = await host.Client.GetAsync(new Uri("/api/conda/environments?stream=true", UriKind.Relative));
        Assert.Equal("application/x-ndjson", stream.Content.Headers.ContentType!.MediaType);
        var lines = (await stream.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("ml", JsonNode.Parse(Assert.Single(lines))!["name"]!.GetValue<string>());

        // Detail with usage_stats (no tasks yet) and packages.
        var (_, detail) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/ml");
        Assert.Equal(0, detail!["usage_stats"]!["total_tasks"]!.GetValue<int>());
        Assert.Equal("ready", detail["status"]!.GetValue<string>());
        Assert.Contains(detail["packages"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "alpha" && p["version"]!.GetValue<string>() == "1.0");
        Assert.StartsWith("3.11", detail["python_version"]!.GetValue<string>(), StringComparison.Ordinal);

        // env_info/<name>.json on the share, in seed 000's format.
        var envInfo = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(host.Share.Path, "env_info", "ml.json")))!;
        Assert.Equal("ml", envInfo["name"]!.GetValue<string>());
        Assert.Contains(envInfo["packages"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "gamma");

        // Python versions from the runner (source = the backend that listed them).
        var (_, versions) = await host.SendAsync(HttpMethod.Get, "/api/conda/python-versions");
        Assert.Equal("venv", versions!["source"]!.GetValue<string>());
        Assert.Contains(versions["versions"]!.AsArray(), v => v!.GetValue<string>() == "3.11");

        // Install: a package with a dependency, and one that does not exist.
        var (install, installed) = await host.SendAsync(HttpMethod.Post, "/api/conda/environment/ml/packages", new { packages = new[] { "beta" } });
        Assert.Equal(HttpStatusCode.OK, install.StatusCode);
        Assert.Equal(["beta-2.0"], installed!["installed_packages"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Empty(installed["failed_packages"]!.AsArray());
        var (missing, missingBody) = await host.SendAsync(HttpMethod.Post, "/api/conda/environment/ml/packages", new { packages = new[] { "no-such-package" } });
        Assert.Equal(HttpStatusCode.OK, missing.StatusCode);
        Assert.Equal(["no-such-package"], missingBody!["failed_packages"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.False(missingBody["success"]!.GetValue<bool>());

        // Remove.
        var (remove, removed) = await host.SendAsync(HttpMethod.Delete, "/api/conda/environment/ml/packages", new { packages = new[] { "beta" } });
        Assert.Equal(HttpStatusCode.OK, remove.StatusCode);
        Assert.Equal(["beta"], removed!["removed_packages"]!.AsArray().Select(p => p!.GetValue<string>()));
        var (_, afterRemove) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/ml");
        Assert.DoesNotContain(afterRemove!["packages"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "beta");

        // Install logs: latest, by operation id, and as SSE.
        var (logs, log) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/ml/logs");
        Assert.Equal(HttpStatusCode.OK, logs.StatusCode);
        Assert.Equal("remove", log!["operation"]!.GetValue<string>());
        Assert.Equal("succeeded", log["status"]!.GetValue<string>());
        Assert.Contains("beta", log["log"]!.GetValue<string>(), StringComparison.Ordinal);
        var (_, audit) = await host.SendAsync(HttpMethod.Get, "/api/audit?environment=ml&operation=create");
        var createOperation = audit!["items"]!.AsArray().Single()!["operation_id"]!.GetValue<string>();
        var (_, createLog) = await host.SendAsync(HttpMethod.Get, $"/api/conda/environment/ml/logs?operation_id={createOperation}");
        Assert.Equal("create", createLog!["operation"]!.GetValue<string>());
        Assert.Contains("alpha", createLog["log"]!.GetValue<string>(), StringComparison.Ordinal);
        var sse = await host.Client.GetAsync(new Uri($"/api/conda/environment/ml/logs?operation_id={createOperation}&stream=true", UriKind.Relative));
        Assert.Equal("text/event-stream", sse.Content.Headers.ContentType!.MediaType);
        var events = await sse.Content.ReadAsStringAsync();
        Assert.Contains("event: log", events, StringComparison.Ordinal);
        Assert.Contains("event: end\ndata: succeeded", events, StringComparison.Ordinal);

        // Reset rebuilds from the recorded specs.
        var (reset, resetBody) = await host.SendAsync(HttpMethod.Post, "/api/conda/environment/ml/reset");
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        Assert.Equal("Environment reset successfully", resetBody!["message"]!.GetValue<string>());

        // Audit: who (key name), what, outcome, duration.
        var (_, all) = await host.SendAsync(HttpMethod.Get, "/api/audit?environment=ml");
        var operations = all!["items"]!.AsArray().Select(r => r!["operation"]!.GetValue<string>()).ToList();
        Assert.Equal(["reset", "remove", "add", "add", "create"], operations);
        Assert.All(all["items"]!.AsArray(), r => Assert.Equal("master", r!["who"]!.GetValue<string>()));
        var partial = Assert.Single(all["items"]!.AsArray(), r => r!["outcome"]!.GetValue<string>() == "partial")!;
        Assert.Contains("no-such-package", partial["error"]!.GetValue<string>(), StringComparison.Ordinal);

        // Tasks reference it: stats, delete refused, rename updates them.
        var tasks = new TableClient(host.ConnectionString, host.Prefix + "Tasks");
        await tasks.CreateIfNotExistsAsync();
        await tasks.AddEntityAsync(new TableEntity("task", "t1") { ["Environment"] = "ml" });
        await tasks.AddEntityAsync(new TableEntity("task", "t2") { ["Environment"] = "ml" });
        var (_, stats) = await host.SendAsync(HttpMethod.Get, "/api/conda/stats");
        Assert.Equal(1, stats!["total_environments"]!.GetValue<int>());
        Assert.Equal(1, stats["active_environments"]!.GetValue<int>());
        Assert.Equal("ml", stats["latest_created"]!["name"]!.GetValue<string>());
        Assert.Equal(2, stats["environment_usage"]![0]!["task_count"]!.GetValue<int>());
        var (refused, refusedBody) = await host.SendAsync(HttpMethod.Delete, "/api/conda/environment/ml");
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.False(refusedBody!["success"]!.GetValue<bool>());

        var (rename, renamed) = await host.SendAsync(HttpMethod.Put, "/api/conda/environment/ml/rename", new { new_name = "ml2" });
        Assert.Equal(HttpStatusCode.OK, rename.StatusCode);
        Assert.Equal(2, renamed!["updated_tasks_count"]!.GetValue<int>());
        Assert.Equal("ml", renamed["old_name"]!.GetValue<string>());
        Assert.Equal("ml2", (await tasks.GetEntityAsync<TableEntity>("task", "t1")).Value.GetString("Environment"));
        Assert.Equal(HttpStatusCode.NotFound, (await host.SendAsync(HttpMethod.Get, "/api/conda/environment/ml")).Response.StatusCode);
        Assert.False(File.Exists(Path.Combine(host.Share.Path, "env_info", "ml.json")));
        Assert.True(File.Exists(Path.Combine(host.Share.Path, "env_info", "ml2.json")));
        Assert.True(Directory.Exists(Path.Combine(host.Share.Path, "envs", "ml2")));
        var (_, moved) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/ml2");
        Assert.Equal(2, moved!["usage_stats"]!["total_tasks"]!.GetValue<int>());

        // Delete once no task references it.
        await tasks.DeleteEntityAsync("task", "t1");
        await tasks.DeleteEntityAsync("task", "t2");
        var (delete, deleted) = await host.SendAsync(HttpMethod.Delete, "/api/conda/environment/ml2");
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        Assert.Equal("Environment 'ml2' deleted successfully", deleted!["message"]!.GetValue<string>());
        Assert.False(Directory.Exists(Path.Combine(host.Share.Path, "envs", "ml2")));
        Assert.False(File.Exists(Path.Combine(host.Share.Path, "env_info", "ml2.json")));
        Assert.Empty((await host.SendAsync(HttpMethod.Get, "/api/conda/environments")).Body!.AsArray());
        var noLines = await host.Client.GetStringAsync(new Uri("/api/conda/environments?stream=true", UriKind.Relative));
        Assert.Equal("", noLines);
    }

    [Fact]
    public async Task CondaRoutes_BadInputAndConflicts_AreRefusedInSeedFormat()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);

        // Bad names and bad specs: 400, nothing created.
        foreach (var (name, packages) in new (string, string[])[]
        {
            ("../x", []), ("a/b", []), (".hidden", []), ("", []), (new string('n', 65), []),
            ("ok", ["numpy; rm -rf /"]), ("ok", [""]), ("ok", [new string('a', 10 * 1024)]), ("ok", ["--index-url=http://evil"]), ("ok", ["alpha", "Alpha"]),
        })
        {
            var (response, body) = await host.SendAsync(HttpMethod.Post, "/api/conda/environment", new { name, python_version = "3.11", packages });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.False(body!["success"]!.GetValue<bool>());
            Assert.False(string.IsNullOrEmpty(body["error"]!.GetValue<string>()));
        }

        Assert.Empty((await host.SendAsync(HttpMethod.Get, "/api/conda/environments")).Body!.AsArray());
        Assert.False(Directory.Exists(Path.Combine(host.Share.Path, "envs")) && Directory.EnumerateFileSystemEntries(Path.Combine(host.Share.Path, "envs")).Any());
        Assert.False(Directory.Exists(Path.Combine(host.Share.Path, "env_info")) && Directory.EnumerateFiles(Path.Combine(host.Share.Path, "env_info")).Any());
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(host.Share.Path)!, "x")));
        Assert.Equal(HttpStatusCode.BadRequest, (await host.SendAsync(HttpMethod.Post, "/api/conda/environment", new { name = "py", python_version = "python3; id" })).Response.StatusCode);

        // Missing environment: 404 on every route that names one.
        Assert.Equal(HttpStatusCode.NotFound, (await host.SendAsync(HttpMethod.Get, "/api/conda/environment/nope")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.SendAsync(HttpMethod.Delete, "/api/conda/environment/nope")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.SendAsync(HttpMethod.Put, "/api/conda/environment/nope/rename", new { new_name = "x" })).Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.SendAsync(HttpMethod.Post, "/api/conda/environment/nope/packages", new { packages = new[] { "alpha" } })).Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.SendAsync(HttpMethod.Delete, "/api/conda/environment/nope/packages", new { packages = new[] { "alpha" } })).Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.SendAsync(HttpMethod.Post, "/api/conda/environment/nope/reset")).Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.SendAsync(HttpMethod.Get, "/api/conda/environment/nope/logs")).Response.StatusCode);

        // Existing name: 409; bad package names on remove: 400.
        await host.CreateCondaAsync("dup", "alpha");
        var (again, againBody) = await host.SendAsync(HttpMethod.Post, "/api/conda/environment", new { name = "dup", python_version = "3.11" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("already exists", againBody!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await host.SendAsync(HttpMethod.Delete, "/api/conda/environment/dup/packages", new { packages = new[] { "alpha==1.0" } })).Response.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await host.SendAsync(HttpMethod.Post, "/api/conda/environment/dup/packages", new { packages = new[] { "alpha; rm -rf /" } })).Response.StatusCode);

        // ?wait=0 answers 202 with the durable check-status payload; a second mutation meanwhile is refused (423).
        var (accepted, payload) = await host.SendAsync(HttpMethod.Post, "/api/conda/environment/dup/packages?wait=0", new { packages = new[] { "gamma" } });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.StartsWith("envbuild-", payload!["id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("/runtime/webhooks/durabletask/instances/", payload["statusQueryGetUri"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(accepted.Headers.Location);
        var (locked, lockedBody) = await host.SendAsync(HttpMethod.Post, "/api/conda/environment/dup/packages", new { packages = new[] { "delta-utils" } });
        Assert.Equal((HttpStatusCode)423, locked.StatusCode);
        Assert.False(lockedBody!["success"]!.GetValue<bool>());
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(
            async () => (await host.SendAsync(HttpMethod.Get, "/api/conda/environment/dup")).Body!["packages"]!.AsArray().Any(p => p!["name"]!.GetValue<string>() == "gamma"),
            TimeSpan.FromSeconds(90)));

        // Two concurrent mutations of one environment (once the first build has released its lock): one proceeds, the other gets 423.
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(
            async () => (await host.SendAsync(HttpMethod.Get, "/api/conda/environment/dup/logs")).Body!["status"]!.GetValue<string>() == "succeeded",
            TimeSpan.FromSeconds(60)));
        var both = await Task.WhenAll(
            host.SendAsync(HttpMethod.Post, "/api/conda/environment/dup/packages", new { packages = new[] { "delta-utils" } }),
            host.SendAsync(HttpMethod.Delete, "/api/conda/environment/dup/packages", new { packages = new[] { "gamma" } }));
        Assert.Single(both, r => r.Response.StatusCode == HttpStatusCode.OK);
        Assert.Single(both, r => (int)r.Response.StatusCode == 423);
    }

    [Fact]
    public async Task GetPythonVersions_NoRunner_AnswersFallbackWithMessage()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);

        var (response, body) = await host.SendAsync(HttpMethod.Get, "/api/conda/python-versions");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("fallback", body!["source"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(body["message"]!.GetValue<string>()));
        Assert.Equal(["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12"], body["versions"]!.AsArray().Select(v => v!.GetValue<string>()));
    }
}
