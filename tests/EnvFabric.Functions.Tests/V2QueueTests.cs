using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using EnvFabric.Core.Pools;
using EnvFabric.Core.Tasks;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>
/// Dispatch order in a saturated pool and the <c>/v2/queues</c> and <c>/v2/pools</c> views, over HTTP with the real
/// runner: the pool configuration comes from a fixed <see cref="IPoolConfiguration"/>.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class V2QueueTests(AzuriteFixture azurite)
{
    private static readonly PoolConfiguration Pools = new()
    {
        Pools = [new PoolDefinition { Name = PoolNames.Default, Capacity = 1 }, new PoolDefinition { Name = "gpu", Capacity = 2, Gpus = 1 }],
        Queues =
        [
            new QueueDefinition { Name = "default-high", Pool = PoolNames.Default, MinPriority = 2 },
            new QueueDefinition { Name = "default", Pool = PoolNames.Default, MaxPriority = 1 },
            new QueueDefinition { Name = "gpu", Pool = "gpu" },
        ],
        Slas = [new SlaRule { Name = "any-wait", Pool = PoolNames.Default, MaxWaitSeconds = 0, Action = SlaActions.Alert }],
    };

    [Fact]
    public async Task SaturatedPool_RunsStartHighNormalLow_AndTheViewsShowTheLine()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(
            azurite, new Dictionary<string, string?> { ["SLA_CHECK_SECONDS"] = "1" }, services: s => s.AddSingleton<IPoolConfiguration>(new FixedPoolConfiguration(Pools)));
        await host.CreateCondaAsync("tasks");
        var release = Path.Combine(host.Share.Path, "release-" + Guid.NewGuid().ToString("N"));
        var blocker = await host.CreateTaskOkAsync(
            $"import os, time\nfor _ in range(1200):\n    if os.path.exists({Quote(release)}):\n        break\n    time.sleep(0.1)\n",
            new Dictionary<string, string> { ["conda_env"] = "tasks", ["task_name"] = "blocker" });
        await host.WaitForTaskAsync(blocker, d => d.Executions().Any(e => e!["status"]!.GetValue<string>() == "running"), what: "the blocker running");

        var ids = new Dictionary<string, long>();
        foreach (var priority in new[] { "low", "high", "normal" })
        {
            ids[priority] = await host.CreateTaskOkAsync("print('done')\n", new Dictionary<string, string> { ["conda_env"] = "tasks", ["task_name"] = priority, ["priority"] = priority });
        }

        Assert.True(
            await EnvironmentHostForTests.EventuallyAsync(async () => (await DataAsync(host, "/v2/pools/default"))["waiting"]!.GetValue<int>() == 3, TimeSpan.FromSeconds(120)),
            "three runs waiting");

        // The SLA timer alerts once for each waiting run (the rule allows no wait at all).
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(async () => (await AlertsAsync(host)).Count == 3, TimeSpan.FromSeconds(120)), "three sla.alert rows");
        var alerted = (await AlertsAsync(host)).Select(a => a!["inputs"]!.GetValue<string>()).ToList();
        Assert.All(alerted, inputs => Assert.Contains("\"rule\":\"any-wait\"", inputs, StringComparison.Ordinal));
        Assert.All(ids.Values, id => Assert.Single(alerted, inputs => inputs.Contains($"\"task_id\":{id},", StringComparison.Ordinal)));

        // Every configured queue, with its figures.
        var queues = (await DataAsync(host, "/v2/queues")).AsArray().ToDictionary(q => q!["name"]!.GetValue<string>(), q => q!);
        Assert.Equal(["default", "default-high", "gpu"], queues.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((1, 1, "default"), Figures(queues["default-high"]));
        Assert.Equal((3, 2, "default"), Figures(queues["default"]));
        Assert.Equal((0, 0, "gpu"), Figures(queues["gpu"]));

        // The line in dispatch order, and who runs.
        var line = await DataAsync(host, "/v2/queues/default?verbose=true");
        var waiting = line["waiting_runs"]!.AsArray();
        Assert.Equal(["normal", "low"], waiting.Select(w => w!["name"]!.GetValue<string>()));
        Assert.Equal([1, 2], waiting.Select(w => w!["position"]!.GetValue<int>()));
        Assert.Equal([1, 0], waiting.Select(w => w!["priority"]!.GetValue<int>()));
        Assert.Equal([1, 0], waiting.Select(w => w!["effective_priority"]!.GetValue<int>()));
        Assert.All(waiting, w => Assert.False(w!["promoted"]!.GetValue<bool>()));
        Assert.All(waiting, w => Assert.True(w!["waited_seconds"]!.GetValue<double>() >= 0));
        Assert.Equal(ids["normal"].ToString(System.Globalization.CultureInfo.InvariantCulture), waiting[0]!["uuid"]!.GetValue<string>());
        Assert.Equal(ids["normal"], waiting[0]!["task_id"]!.GetValue<long>());
        Assert.False(string.IsNullOrEmpty(waiting[0]!["run_id"]!.GetValue<string>()));
        Assert.Equal(["blocker"], line["running_runs"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()));
        var high = (await DataAsync(host, "/v2/queues/default-high?verbose=true"))["waiting_runs"]!.AsArray();
        Assert.Equal(("high", 2), (high.Single()!["name"]!.GetValue<string>(), high.Single()!["priority"]!.GetValue<int>()));
        Assert.Null((await DataAsync(host, "/v2/queues/default"))["waiting_runs"]);

        // Pools: the saturated one fully used.
        var pools = (await DataAsync(host, "/v2/pools")).AsArray().ToDictionary(p => p!["name"]!.GetValue<string>(), p => p!);
        Assert.Equal((1.0, 1, 1, 3), (pools["default"]["usage"]!.GetValue<double>(), pools["default"]["tasks"]!.GetValue<int>(), pools["default"]["capacity"]!.GetValue<int>(), pools["default"]["waiting"]!.GetValue<int>()));
        Assert.Equal((0.0, 0, 2), (pools["gpu"]["usage"]!.GetValue<double>(), pools["gpu"]["tasks"]!.GetValue<int>(), pools["gpu"]["capacity"]!.GetValue<int>()));
        var pool = await DataAsync(host, "/v2/pools/default?verbose=true");
        var runner = Assert.Single(pool["runners"]!.AsArray())!;
        Assert.True(runner["alive"]!.GetValue<bool>());
        Assert.True(runner["slots"]!.GetValue<int>() >= 1);
        Assert.False(string.IsNullOrEmpty(runner["runner_id"]!.GetValue<string>()));
        Assert.Equal(["default-high", "default"], pool["queues"]!.AsArray().Select(q => q!["name"]!.GetValue<string>()));
        Assert.Empty((await DataAsync(host, "/v2/pools/gpu?verbose=true"))["runners"]!.AsArray());

        // Unknown names and a bad flag, in seed 002's envelope.
        await AssertErrorAsync(host, "/v2/queues/nope", HttpStatusCode.NotFound, "1004", "queue 'nope' not found");
        await AssertErrorAsync(host, "/v2/pools/nope?verbose=true", HttpStatusCode.NotFound, "1004", "pool 'nope' not found");
        await AssertErrorAsync(host, "/v2/queues/default?verbose=maybe", HttpStatusCode.BadRequest, "1001", "verbose must be true or false (was 'maybe')");

        // A user key of another namespace sees the figures, not the runs.
        using var key = await host.Client.PostAsJsonAsync(new Uri("/api/keys", UriKind.Relative), new { name = "viewer", role = "user", @namespace = "team-x" });
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        var secret = JsonNode.Parse(await key.Content.ReadAsStringAsync())!["key"]!["value"]!.GetValue<string>();
        using var user = host.App.CreateClient();
        user.DefaultRequestHeaders.Add("x-functions-key", secret);
        var hidden = JsonNode.Parse(await user.GetStringAsync(new Uri("/v2/queues/default?verbose=true", UriKind.Relative)))!["data"]!;
        Assert.Equal(2, hidden["waiting"]!.GetValue<int>());
        Assert.All(hidden["waiting_runs"]!.AsArray(), w => Assert.True(w!["name"] is null && w["uuid"] is null && w["run_id"] is null && w["task_id"] is null, w.ToJsonString()));
        Assert.Equal([1, 0], hidden["waiting_runs"]!.AsArray().Select(w => w!["priority"]!.GetValue<int>()));

        // Released, the line drains in priority order.
        await File.WriteAllTextAsync(release, "go");
        // The API shows start times to the second and these runs take milliseconds: compare the recorded times.
        var starts = new Dictionary<string, DateTimeOffset>();
        var tasks = host.Services.GetRequiredService<ITaskRepository>();
        foreach (var (name, id) in ids)
        {
            var run = (await host.WaitForTaskAsync(id, d => d.HasFinished(), bound: TimeSpan.FromSeconds(240), what: name + " to finish")).Executions().Single()!;
            Assert.Equal("completed", run["status"]!.GetValue<string>());
            starts[name] = Assert.Single(await tasks.ListExecutionsAsync(id)).StartTime!.Value;
        }

        Assert.True(
            starts["high"] < starts["normal"] && starts["normal"] < starts["low"],
            string.Join(", ", starts.Select(s => $"{s.Key} {s.Value:O}")));
        Assert.Equal(0, (await DataAsync(host, "/v2/pools/default"))["tasks"]!.GetValue<int>());
        Assert.Equal(3, (await AlertsAsync(host)).Count);
    }

    private static async Task<JsonArray> AlertsAsync(EnvironmentHostForTests host)
    {
        var (response, body) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation=sla.alert&limit=100");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return body!["items"]!.AsArray();
    }

    private static (int Size, int Waiting, string Pool) Figures(JsonNode q) =>
        (q["size"]!.GetValue<int>(), q["waiting"]!.GetValue<int>(), q["pool"]!.GetValue<string>());

    private static async Task<JsonNode> DataAsync(EnvironmentHostForTests host, string url)
    {
        var (response, body) = await host.SendAsync(HttpMethod.Get, url);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {body?.ToJsonString()}");
        Assert.Equal(("0", true), (body!["code"]!.GetValue<string>(), body["success"]!.GetValue<bool>()));
        return body["data"]!;
    }

    private static async Task AssertErrorAsync(EnvironmentHostForTests host, string url, HttpStatusCode status, string code, string message)
    {
        var (response, body) = await host.SendAsync(HttpMethod.Get, url);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal((code, false, message), (body!["code"]!.GetValue<string>(), body["success"]!.GetValue<bool>(), body["message"]!.GetValue<string>()));
    }

    private static string Quote(string s) => "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    /// <summary>A pool configuration that never changes (the file loader is another area's).</summary>
    private sealed class FixedPoolConfiguration(PoolConfiguration current) : IPoolConfiguration
    {
        public PoolConfiguration Current => current;

        public PoolReloadResult Reload() => new(true, null, current);
    }
}
