using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using EnvFabric.Testing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>Completion callbacks of seed 003 tasks (<c>callback_url</c>), received by a real HTTP server.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TaskCallbackTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(150);

    private static JsonNode? CallbackOf(JsonNode detail) => detail.Executions().FirstOrDefault()?["callback"];

    [Fact]
    public async Task Callback_FailingTwiceThenOk_IsRetriedSignedAndRecorded()
    {
        await using var receiver = await CallbackReceiver.StartAsync((_, n) => n <= 2 ? (n == 1 ? 503 : 500) : 200);
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, new Dictionary<string, string?> { ["CALLBACK_RETRY_SECONDS"] = "1" });
        await host.CreateCondaAsync("hooks");
        var url = new Uri(receiver.BaseUri, "/hooks/done").ToString();
        var id = await host.CreateTaskOkAsync("print('hello')\n", new Dictionary<string, string> { ["conda_env"] = "hooks", ["task_name"] = "hooked", ["callback_url"] = url });

        var detail = await host.WaitForTaskAsync(id, d => CallbackOf(d)?["status"]?.GetValue<string>() == "delivered", Bound, "the callback delivered");
        Assert.Equal(url, detail["task"]!["callback_url"]!.GetValue<string>());
        var execution = detail.Executions()[0]!;
        Assert.Equal("completed", execution["status"]!.GetValue<string>());
        Assert.Equal(3, execution["callback"]!["attempts"]!.GetValue<int>());
        Assert.Null(execution["callback"]!["error"]);

        var received = receiver.On("/hooks/done");
        Assert.Equal(3, received.Count);
        Assert.Equal(["1", "2", "3"], received.Select(r => r.Headers["X-EnvFabric-Attempt"]));
        Assert.Single(received.Select(r => r.Headers["X-EnvFabric-Delivery"]).Distinct());
        Assert.All(received, r => Assert.Equal(received[0].Body, r.Body));

        var payload = JsonNode.Parse(received[0].Body)!;
        Assert.Equal("hooked", payload["name"]!.GetValue<string>());
        Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), payload["uuid"]!.GetValue<string>());
        Assert.Equal(execution["execution_id"]!.GetValue<string>(), payload["runid"]!.GetValue<string>());
        Assert.Equal("completed", payload["status"]!.GetValue<string>());
        Assert.Contains("exit code 0", payload["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // The signature checks out with the namespace's secret, and a rotated secret no longer matches.
        var (secretResponse, secretBody) = await host.SendAsync(HttpMethod.Get, "/api/settings/callback-secret");
        Assert.Equal(HttpStatusCode.OK, secretResponse.StatusCode);
        var secret = secretBody!["secret"]!.GetValue<string>();
        string Sign(string key) => "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(received[0].Body)));
        Assert.Equal(Sign(secret), received[0].Headers["X-EnvFabric-Signature"]);
        var (_, rotated) = await host.SendAsync(HttpMethod.Post, "/api/settings/callback-secret/rotate");
        Assert.NotEqual(Sign(rotated!["secret"]!.GetValue<string>()), received[0].Headers["X-EnvFabric-Signature"]);
    }

    [Fact]
    public async Task Callback_TaskWithUuid_PayloadNamesTheUuidTheTaskAndTheRun()
    {
        await using var receiver = await CallbackReceiver.StartAsync((_, _) => 200);
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("hooks");
        var url = new Uri(receiver.BaseUri, "/hooks/v2").ToString();

        // Made far in the future, given a seed 002 uuid (as the v2 submit stores one), then run by hand.
        var id = await host.CreateTaskOkAsync("raise SystemExit(4)\n", new Dictionary<string, string> { ["conda_env"] = "hooks", ["task_name"] = "v2-hooked", ["callback_url"] = url, ["delay_seconds"] = "86400" });
        var tasks = host.Services.GetRequiredService<EnvFabric.Core.Tasks.ITaskRepository>();
        Assert.True(await tasks.ReserveUuidAsync("0b7c2f4e-run-me", id));
        Assert.NotNull(await tasks.MutateAsync(id, t => t with { Uuid = "0b7c2f4e-run-me" }));
        Assert.Equal(HttpStatusCode.OK, (await host.ControlAsync(id, "trigger")).Response.StatusCode);

        var detail = await host.WaitForTaskAsync(id, d => CallbackOf(d)?["status"]?.GetValue<string>() == "delivered", Bound, "the callback delivered");
        var execution = detail.Executions()[0]!;
        var payload = JsonNode.Parse(receiver.On("/hooks/v2").Single().Body)!;
        Assert.Equal(["message", "name", "runid", "status", "uuid"], payload.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal("v2-hooked", payload["name"]!.GetValue<string>());
        Assert.Equal("0b7c2f4e-run-me", payload["uuid"]!.GetValue<string>());
        Assert.Equal(execution["execution_id"]!.GetValue<string>(), payload["runid"]!.GetValue<string>());
        Assert.Equal("failed", payload["status"]!.GetValue<string>());
        Assert.Contains("4", payload["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Callback_AlwaysFailing_GivesUpAfterTheLimit_AndAClientErrorIsNotRetried()
    {
        await using var receiver = await CallbackReceiver.StartAsync((path, _) => path == "/gone" ? 404 : 500);
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["CALLBACK_RETRY_SECONDS"] = "1",
            ["CALLBACK_MAX_ATTEMPTS"] = "2",
        });
        await host.CreateCondaAsync("hooks");
        var failing = await host.CreateTaskOkAsync("raise SystemExit(3)\n", new Dictionary<string, string> { ["conda_env"] = "hooks", ["task_name"] = "failing", ["callback_url"] = new Uri(receiver.BaseUri, "/down").ToString() });
        var gone = await host.CreateTaskOkAsync("print('ok')\n", new Dictionary<string, string> { ["conda_env"] = "hooks", ["task_name"] = "gone", ["callback_url"] = new Uri(receiver.BaseUri, "/gone").ToString() });

        var detail = await host.WaitForTaskAsync(failing, d => CallbackOf(d)?["status"]?.GetValue<string>() == "failed", Bound, "the callback given up");
        var callback = CallbackOf(detail)!;
        Assert.Equal(2, callback["attempts"]!.GetValue<int>());
        Assert.Contains("HTTP 500", callback["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("gave up after 2 attempts", callback["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var payload = JsonNode.Parse(receiver.On("/down")[0].Body)!;
        Assert.Equal("failed", payload["status"]!.GetValue<string>());
        Assert.Contains("3", payload["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var goneDetail = await host.WaitForTaskAsync(gone, d => CallbackOf(d)?["status"]?.GetValue<string>() == "failed", Bound, "the 404 callback failed");
        Assert.Equal(1, CallbackOf(goneDetail)!["attempts"]!.GetValue<int>());
        Assert.Contains("not retried", CallbackOf(goneDetail)!["error"]!.GetValue<string>(), StringComparison.Ordinal);

        // The deliveries are over: their orchestrations completed, so no further attempt can come.
        var durable = host.Services.GetRequiredService<DurableTaskClient>();
        foreach (var detailOf in new[] { detail, goneDetail })
        {
            var instance = await durable.GetInstanceAsync("callback-" + detailOf.Executions()[0]!["execution_id"]!.GetValue<string>());
            Assert.Equal(OrchestrationRuntimeStatus.Completed, instance!.RuntimeStatus);
        }

        Assert.Equal(2, receiver.On("/down").Count);
        Assert.Single(receiver.On("/gone"));
    }

    [Fact]
    public async Task CallbackUrl_IsValidatedAtSubmitAndCanBeChangedOrRemoved()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("hooks");
        foreach (var (url, expected) in new[]
        {
            ("ftp://example.com/x", "absolute http or https URL"),
            ("/relative", "absolute http or https URL"),
            ("http://user:pw@127.0.0.1/x", "credentials"),
            ("http://10.1.2.3/hook", "private or link-local"),
            ("http://192.168.1.1/hook", "private or link-local"),
            ("http://169.254.169.254/latest/meta-data", "private or link-local"),
            ("http://[fd00::1]/hook", "private or link-local"),
        })
        {
            var (response, body) = await host.CreateTaskAsync("print(1)\n", new Dictionary<string, string> { ["conda_env"] = "hooks", ["callback_url"] = url, ["delay_seconds"] = "3600" });
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{url}: {(int)response.StatusCode} {body?.ToJsonString()}");
            Assert.Contains(expected, body!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        var (list, tasks) = await host.SendAsync(HttpMethod.Get, "/api/tasks");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Empty(tasks!.AsArray());

        var id = await host.CreateTaskOkAsync("print(1)\n", new Dictionary<string, string> { ["conda_env"] = "hooks", ["callback_url"] = "http://127.0.0.1:9/hook", ["delay_seconds"] = "3600" });
        var (refused, refusedBody) = await host.SendAsync(HttpMethod.Put, $"/api/tasks/{id}", new { callback_url = "http://172.16.0.1/x" });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("private", refusedBody!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var (_, unchanged) = await host.SendAsync(HttpMethod.Get, $"/api/tasks/{id}");
        Assert.Equal("http://127.0.0.1:9/hook", unchanged!["task"]!["callback_url"]!.GetValue<string>());

        var (cleared, _) = await host.SendAsync(HttpMethod.Put, $"/api/tasks/{id}", new { callback_url = "" });
        Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        var (_, after) = await host.SendAsync(HttpMethod.Get, $"/api/tasks/{id}");
        Assert.Null(after!["task"]!["callback_url"]);
        await host.SendAsync(HttpMethod.Post, $"/api/tasks/{id}/stop");
    }
}
