using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EnvFabric.Core.Runner;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>Seed 002's <c>/v2/reload</c>, <c>/v2/slas</c> and <c>/v2/policys</c> over HTTP, with pools.json on the host's share.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class V2ConfigTests(AzuriteFixture azurite)
{
    private static readonly Uri Reload = new("/v2/reload", UriKind.Relative);
    private static readonly Uri Slas = new("/v2/slas", UriKind.Relative);
    private static readonly Uri Policies = new("/v2/policys", UriKind.Relative);

    private const string First = """
        {
          "pools": [{ "name": "default", "capacity": 4 }, { "name": "gpu", "gpus": 1 }],
          "slas": [{ "name": "urgent", "pool": "default", "min_priority": 5, "max_wait_seconds": 30, "action": "promote", "promote_by": 2 }],
          "policies": [{ "name": "ml-only", "pool": "gpu", "namespaces": ["ml"], "tags": { "gpu": "yes" } }],
        }
        """;

    private const string Second = """
        { "pools": [{ "name": "default" }], "slas": [{ "name": "slow", "max_wait_seconds": 600 }, { "name": "slower", "max_wait_seconds": 6000 }] }
        """;

    private static async Task<JsonElement> BodyOf(HttpResponseMessage response)
    {
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.Clone();
    }

    private static async Task<JsonElement> OkData(HttpResponseMessage response)
    {
        var body = await BodyOf(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("0", body.GetProperty("code").GetString());
        Assert.True(body.GetProperty("success").GetBoolean());
        return body.GetProperty("data");
    }

    [Fact]
    public async Task SlasAndPolicys_ListTheFileInForceInItsSnakeCase()
    {
        using var factory = new FunctionsFactory(azurite);
        await File.WriteAllTextAsync(factory.Share.Combine("pools.json"), First);
        using var client = factory.CreateKeyedClient();

        using var slas = await client.GetAsync(Slas);
        var sla = Assert.Single((await OkData(slas)).EnumerateArray());
        Assert.Equal("urgent", sla.GetProperty("name").GetString());
        Assert.Equal("default", sla.GetProperty("pool").GetString());
        Assert.Equal(5, sla.GetProperty("min_priority").GetInt32());
        Assert.Equal(30, sla.GetProperty("max_wait_seconds").GetInt32());
        Assert.Equal("promote", sla.GetProperty("action").GetString());
        Assert.Equal(2, sla.GetProperty("promote_by").GetInt32());

        using var policies = await client.GetAsync(Policies);
        var policy = Assert.Single((await OkData(policies)).EnumerateArray());
        Assert.Equal("ml-only", policy.GetProperty("name").GetString());
        Assert.Equal("gpu", policy.GetProperty("pool").GetString());
        Assert.Equal(["ml"], policy.GetProperty("namespaces").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("yes", policy.GetProperty("tags").GetProperty("gpu").GetString());
    }

    [Fact]
    public async Task Reload_GoodFile_TakesEffectAndIsAudited()
    {
        using var factory = new FunctionsFactory(azurite);
        var file = factory.Share.Combine("pools.json");
        await File.WriteAllTextAsync(file, First);
        using var client = factory.CreateKeyedClient();
        using (var before = await client.GetAsync(Slas))
        {
            Assert.Equal(["urgent"], (await OkData(before)).EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        }

        await File.WriteAllTextAsync(file, Second);
        using var reload = await client.PostAsync(Reload, null);
        Assert.Equal("reload OK", (await OkData(reload)).GetString());

        using var after = await client.GetAsync(Slas);
        Assert.Equal(["slow", "slower"], (await OkData(after)).EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        using var policies = await client.GetAsync(Policies);
        Assert.Empty((await OkData(policies)).EnumerateArray());

        using var audit = await client.GetAsync(new Uri("/api/audit?operation=pools.reload", UriKind.Relative));
        var row = Assert.Single((await BodyOf(audit)).GetProperty("items").EnumerateArray());
        Assert.Equal("succeeded", row.GetProperty("outcome").GetString());
        Assert.Equal("master", row.GetProperty("who").GetString());
    }

    [Fact]
    public async Task Reload_BadFile_Is1001AndChangesNothing()
    {
        using var factory = new FunctionsFactory(azurite);
        var file = factory.Share.Combine("pools.json");
        await File.WriteAllTextAsync(file, First);
        using var client = factory.CreateKeyedClient();
        using var before = await client.GetAsync(Slas);
        var slasBefore = (await OkData(before)).GetRawText();

        await File.WriteAllTextAsync(file, """{"pools":[{"name":"default"}],"slas":[{"name":"x","max_wait_seconds":0}],"queues":[{"name":"q","pool":"gone"}]}""");
        using var reload = await client.PostAsync(Reload, null);
        var body = await BodyOf(reload);

        Assert.Equal(HttpStatusCode.BadRequest, reload.StatusCode);
        Assert.Equal("1001", body.GetProperty("code").GetString());
        Assert.False(body.GetProperty("success").GetBoolean());
        var message = body.GetProperty("message").GetString()!;
        Assert.Contains("queues[0] 'q': pool 'gone' is not defined in pools", message, StringComparison.Ordinal);
        Assert.Contains("slas[0] 'x': max_wait_seconds 0 is out of range (use 1 to 604800)", message, StringComparison.Ordinal);
        using var after = await client.GetAsync(Slas);
        Assert.Equal(slasBefore, (await OkData(after)).GetRawText());

        using var audit = await client.GetAsync(new Uri("/api/audit?operation=pools.reload", UriKind.Relative));
        var row = Assert.Single((await BodyOf(audit)).GetProperty("items").EnumerateArray());
        Assert.Equal("refused", row.GetProperty("outcome").GetString());
        Assert.Contains("pool 'gone'", row.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_UserKey_IsRefusedAndChangesNothing()
    {
        using var factory = new FunctionsFactory(azurite);
        var file = factory.Share.Combine("pools.json");
        await File.WriteAllTextAsync(file, First);
        using var admin = factory.CreateKeyedClient();
        using var key = await admin.PostAsJsonAsync(new Uri("/api/keys", UriKind.Relative), new { name = "eve", role = "user", @namespace = "team" });
        var secret = (await BodyOf(key)).GetProperty("key").GetProperty("value").GetString()!;
        using var user = factory.CreateKeyedClient(secret);

        await File.WriteAllTextAsync(file, Second);
        using var reload = await user.PostAsync(Reload, null);
        var body = await BodyOf(reload);
        Assert.Equal(HttpStatusCode.Forbidden, reload.StatusCode);
        Assert.Equal("1001", body.GetProperty("code").GetString());
        Assert.Contains("admin key", body.GetProperty("message").GetString(), StringComparison.Ordinal);

        // A user key reads the rules; the reload it asked for did not happen.
        using var slas = await user.GetAsync(Slas);
        Assert.Equal(["urgent"], (await OkData(slas)).EnumerateArray().Select(e => e.GetProperty("name").GetString()));

        using var anonymous = factory.CreateKeyedClient(null);
        using var none = await anonymous.PostAsync(Reload, null);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
    }

    [Fact]
    public async Task Status_ListsEachPoolsRunners_OkOnlyWithALiveOne()
    {
        using var factory = new FunctionsFactory(azurite);
        await File.WriteAllTextAsync(factory.Share.Combine("pools.json"), """{"pools":[{"name":"default"},{"name":"gpu"},{"name":"batch"}]}""");
        using var client = factory.CreateKeyedClient();
        var registry = factory.Services.GetRequiredService<IRunnerRegistry>();
        var now = DateTimeOffset.UtcNow;
        await registry.PublishAsync(new RunnerInfo { RunnerId = "gpu-1", Pool = "gpu", StartedAt = now, LastHeartbeat = now, Cores = 8, Gpus = 2 });
        await registry.PublishAsync(new RunnerInfo { RunnerId = "batch-1", Pool = "batch", StartedAt = now, LastHeartbeat = now, Stopped = true });
        await registry.PublishAsync(new RunnerInfo { RunnerId = "edge-1", Pool = "edge", StartedAt = now, LastHeartbeat = now });

        using var response = await client.GetAsync(new Uri("/v2/status", UriKind.Relative));
        var data = await OkData(response);
        var pools = data.GetProperty("components").EnumerateArray()
            .Where(c => c.GetProperty("name").GetString()!.StartsWith("pool:", StringComparison.Ordinal))
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => (Status: c.GetProperty("status").GetString(), Message: c.GetProperty("message").GetString()));

        Assert.Equal(["pool:default", "pool:gpu", "pool:batch", "pool:edge"], pools.Keys);
        Assert.Equal(("down", "no runner has joined this pool"), pools["pool:default"]);
        Assert.Equal(("ok", null), pools["pool:gpu"]);
        Assert.Equal("down", pools["pool:batch"].Status);
        Assert.Contains("1 runner(s) stopped or silent", pools["pool:batch"].Message, StringComparison.Ordinal);
        Assert.Equal(("ok", null), pools["pool:edge"]);
        Assert.Equal("degraded", data.GetProperty("status").GetString());
    }
}
