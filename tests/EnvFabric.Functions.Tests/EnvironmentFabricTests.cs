using System.Net;
using System.Text.Json.Nodes;
using Microsoft.DurableTask.Client;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>Seed 001 (<c>/envs</c>) over HTTP with the real runner, the venv backend and a test wheelhouse.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class EnvironmentFabricTests(AzuriteFixture azurite)
{
    private static async Task<(HttpResponseMessage Response, JsonNode? Body)> PostFormAsync(EnvironmentHostForTests host, string url, IEnumerable<KeyValuePair<string, string>> fields, string? requirements = null)
    {
        using var form = new MultipartFormDataContent();
        foreach (var (key, value) in fields)
        {
            form.Add(new StringContent(value), key);
        }

        if (requirements is not null)
        {
            form.Add(new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(requirements)), "requirements_file", "requirements.txt");
        }

        var response = await host.Client.PostAsync(new Uri(url, UriKind.Relative), form);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private static void AssertFabricError(HttpResponseMessage response, JsonNode? body, int status, string code)
    {
        Assert.True((int)response.StatusCode == status, $"expected {status} {code}, got {(int)response.StatusCode} {body?.ToJsonString()}");
        Assert.Equal(code, body!["error_code"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(body["message"]!.GetValue<string>()));
    }

    [Fact]
    public async Task FabricRoutes_Lifecycle_CreateExportDepsSyncRunDelete()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);

        // Create from form data: a JSON list of packages plus a requirements file.
        var (create, created) = await PostFormAsync(host, "/envs",
            [new("workflow_id", "wf1"), new("node_id", "node1"), new("version_id", "v1"), new("python_version", "3.11"), new("packages", "[\"alpha==1.0\"]")],
            "# extra\ngamma\n");
        Assert.True(create.StatusCode == HttpStatusCode.OK, created?.ToJsonString());
        Assert.Equal("created", created!["status"]!.GetValue<string>());
        Assert.Equal(Path.Combine(host.Share.Path, "envs", "wf1_node1_v1"), created["env_path"]!.GetValue<string>());
        var pyproject = created["pyproject_toml"]!.GetValue<string>();
        Assert.Contains("name = \"wf1-node1\"", pyproject, StringComparison.Ordinal);
        Assert.Contains("\"alpha==1.0\"", pyproject, StringComparison.Ordinal);
        Assert.Contains("\"gamma\"", pyproject, StringComparison.Ordinal);

        // The same environment in seed 000's list; a second create is 409.
        var (_, list) = await host.SendAsync(HttpMethod.Get, "/api/conda/environments");
        Assert.Contains(list!.AsArray(), e => e!["name"]!.GetValue<string>() == "wf1_node1_v1");
        var (again, againBody) = await PostFormAsync(host, "/envs", [new("workflow_id", "wf1"), new("node_id", "node1"), new("version_id", "v1")]);
        AssertFabricError(again, againBody, 409, "ENV_ALREADY_EXISTS");

        // Export: pyproject and the venv backend's lock, named for what it is.
        var (_, export) = await host.SendAsync(HttpMethod.Get, "/envs/wf1/node1/export?version_id=v1");
        Assert.Equal("pip-freeze", export!["lock_kind"]!.GetValue<string>());
        Assert.Contains("alpha==1.0", export["pip_freeze"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(export["uv_lock"]);
        Assert.Contains("[project]", export["pyproject_toml"]!.GetValue<string>(), StringComparison.Ordinal);

        // Deps: list, add, remove.
        var (_, deps) = await host.SendAsync(HttpMethod.Get, "/envs/wf1/node1/deps?version_id=v1");
        Assert.Equal(["alpha==1.0", "gamma"], deps!["dependencies"]!.AsArray().Select(d => d!.GetValue<string>()));
        Assert.Equal("1.0", deps["locked_versions"]!["alpha"]!.GetValue<string>());
        var (add, added) = await host.SendAsync(HttpMethod.Post, "/envs/wf1/node1/deps", new { packages = new[] { "beta>=2.0" } });
        Assert.True(add.StatusCode == HttpStatusCode.OK, added?.ToJsonString());
        Assert.Contains(added!["dependencies"]!.AsArray(), d => d!.GetValue<string>() == "beta>=2.0");
        Assert.Equal("2.0", added["locked_versions"]!["beta"]!.GetValue<string>());
        var (remove, removed) = await host.SendAsync(HttpMethod.Delete, "/envs/wf1/node1/deps", new { packages = new[] { "beta" } });
        Assert.Equal(HttpStatusCode.OK, remove.StatusCode);
        Assert.DoesNotContain(removed!["dependencies"]!.AsArray(), d => d!.GetValue<string>().StartsWith("beta", StringComparison.Ordinal));

        // Sync from the lock.
        var (sync, synced) = await host.SendAsync(HttpMethod.Post, "/envs/wf1/node1/sync");
        Assert.True(sync.StatusCode == HttpStatusCode.OK, synced?.ToJsonString());
        Assert.Equal("synced", synced!["status"]!.GetValue<string>());
        Assert.True(synced["packages_installed"]!.GetValue<int>() >= 2);

        // Run code: output, exit codes, timeout.
        var (run, ran) = await host.SendAsync(HttpMethod.Post, "/envs/wf1/node1/run", new { code = "import alpha, sys; print(alpha.__version__); print('err', file=sys.stderr)", timeout = 30 });
        Assert.True(run.StatusCode == HttpStatusCode.OK, ran?.ToJsonString());
        Assert.Equal("1.0", ran!["stdout"]!.GetValue<string>().Trim());
        Assert.Equal("err", ran["stderr"]!.GetValue<string>().Trim());
        Assert.Equal(0, ran["exit_code"]!.GetValue<int>());
        Assert.True(ran["duration"]!.GetValue<double>() >= 0);
        var (_, failedRun) = await host.SendAsync(HttpMethod.Post, "/envs/wf1/node1/run", new { code = "import sys; sys.exit(3)" });
        Assert.Equal(3, failedRun!["exit_code"]!.GetValue<int>());
        var (slow, slowBody) = await host.SendAsync(HttpMethod.Post, "/envs/wf1/node1/run", new { code = "import time; time.sleep(30)", timeout = 1 });
        AssertFabricError(slow, slowBody, 504, "EXECUTION_TIMEOUT");

        // A running operation's output streams as SSE while it runs, then ends with its outcome.
        var (streamed, streamedPayload) = await host.SendAsync(HttpMethod.Post, "/envs/wf1/node1/run?wait=0", new { code = "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(1)" });
        Assert.Equal(HttpStatusCode.Accepted, streamed.StatusCode);
        var sse = await host.Client.GetStringAsync(new Uri($"/api/conda/environment/wf1_node1_v1/logs?operation_id={streamedPayload!["id"]!.GetValue<string>()}&stream=true", UriKind.Relative));
        Assert.Contains("data: tick 0", sse, StringComparison.Ordinal);
        Assert.Contains("data: tick 2", sse, StringComparison.Ordinal);
        Assert.EndsWith("event: end\ndata: succeeded\n\n", sse, StringComparison.Ordinal);

        // Errors from seed 001's table.
        var (badPackages, badPackagesBody) = await host.SendAsync(HttpMethod.Post, "/envs/wf1/node1/deps", new { packages = new[] { "numpy; rm -rf /" } });
        AssertFabricError(badPackages, badPackagesBody, 400, "INVALID_PACKAGES");
        var (badForm, badFormBody) = await PostFormAsync(host, "/envs", [new("workflow_id", "wf2"), new("node_id", "n"), new("packages", "[\"\"]")]);
        AssertFabricError(badForm, badFormBody, 400, "INVALID_PACKAGES");
        var (badFile, badFileBody) = await PostFormAsync(host, "/envs", [new("workflow_id", "wf2"), new("node_id", "n")], "--index-url http://evil/simple\nalpha\n");
        AssertFabricError(badFile, badFileBody, 400, "INVALID_PACKAGES");
        var (badId, badIdBody) = await PostFormAsync(host, "/envs", [new("workflow_id", "../wf"), new("node_id", "n")]);
        AssertFabricError(badId, badIdBody, 400, "INVALID_REQUEST");
        var (notFound, notFoundBody) = await host.SendAsync(HttpMethod.Get, "/envs/nope/node1/deps");
        AssertFabricError(notFound, notFoundBody, 404, "ENV_NOT_FOUND");
        AssertFabricError(
            (await host.SendAsync(HttpMethod.Post, "/envs/nope/node1/run", new { code = "print(1)" })).Response,
            (await host.SendAsync(HttpMethod.Post, "/envs/nope/node1/run", new { code = "print(1)" })).Body,
            404,
            "ENV_NOT_FOUND");
        var (unresolvable, unresolvableBody) = await PostFormAsync(host, "/envs", [new("workflow_id", "wf3"), new("node_id", "n"), new("packages", "no-such-package")]);
        AssertFabricError(unresolvable, unresolvableBody, 422, "PACKAGE_RESOLUTION_FAILED");
        var (_, unresolvedEnv) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/wf3_n_v1");
        Assert.Equal("failed", unresolvedEnv!["status"]!.GetValue<string>());
        var (unresolvableDep, unresolvableDepBody) = await host.SendAsync(HttpMethod.Post, "/envs/wf1/node1/deps", new { packages = new[] { "no-such-package" } });
        AssertFabricError(unresolvableDep, unresolvableDepBody, 422, "PACKAGE_RESOLUTION_FAILED");
        var (noPython, noPythonBody) = await PostFormAsync(host, "/envs", [new("workflow_id", "wf4"), new("node_id", "n"), new("python_version", "3.99")]);
        AssertFabricError(noPython, noPythonBody, 500, "UV_EXECUTION_ERROR");
        var (_, failedEnv) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/wf4_n_v1");
        Assert.Equal("failed", failedEnv!["status"]!.GetValue<string>());

        // A mutation while another holds the lock: 423.
        var (accepted, payload) = await host.SendAsync(HttpMethod.Post, "/envs/wf1/node1/deps?wait=0", new { packages = new[] { "delta-utils" } });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var (locked, lockedBody) = await host.SendAsync(HttpMethod.Post, "/envs/wf1/node1/sync");
        AssertFabricError(locked, lockedBody, 423, "ENV_LOCKED");
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            var done = await host.Services.GetRequiredService<DurableTaskClient>().WaitForInstanceCompletionAsync(payload!["id"]!.GetValue<string>(), cancellation: wait.Token);
            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        }

        // Delete with version_id; afterwards 404.
        var (delete, deleted) = await host.SendAsync(HttpMethod.Delete, "/envs/wf1/node1?version_id=v1");
        Assert.True(delete.StatusCode == HttpStatusCode.OK, deleted?.ToJsonString());
        Assert.Equal("deleted", deleted!["status"]!.GetValue<string>());
        AssertFabricError((await host.SendAsync(HttpMethod.Get, "/envs/wf1/node1/export")).Response, (await host.SendAsync(HttpMethod.Get, "/envs/wf1/node1/export")).Body, 404, "ENV_NOT_FOUND");

        // Every side effect is audited, refused ones included.
        var (_, audit) = await host.SendAsync(HttpMethod.Get, "/api/audit?environment=wf1_node1_v1");
        var operations = audit!["items"]!.AsArray().Select(r => r!["operation"]!.GetValue<string>()).ToList();
        Assert.Contains("create", operations);
        Assert.Contains("run", operations);
        Assert.Contains("delete", operations);
        Assert.Contains("sync", operations);
    }
}
