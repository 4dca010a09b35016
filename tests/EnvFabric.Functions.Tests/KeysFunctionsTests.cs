using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class KeysFunctionsTests(AzuriteFixture azurite)
{
    private static readonly Uri Keys = new("/api/keys", UriKind.Relative);
    private static readonly Uri Me = new("/api/auth/me", UriKind.Relative);

    [Fact]
    public async Task CreateKey_Valid_ReturnsSecretOnceAndTheKeyWorks()
    {
        using var factory = new FunctionsFactory(azurite);
        using var admin = factory.CreateKeyedClient();

        using var created = await admin.PostAsJsonAsync(Keys, new { name = "ci-bot", role = "user", @namespace = "team-a" });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var body = await AuthTests.JsonOf(created);
        Assert.True(body.RootElement.GetProperty("success").GetBoolean());
        var key = body.RootElement.GetProperty("key");
        Assert.Equal("ci-bot", key.GetProperty("name").GetString());
        var secret = key.GetProperty("value").GetString()!;
        Assert.True(secret.Length >= 40);

        using var user = factory.CreateKeyedClient(secret);
        using var me = await user.GetAsync(Me);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        using var who = await AuthTests.JsonOf(me);
        var principal = who.RootElement.GetProperty("user");
        Assert.Equal("ci-bot", principal.GetProperty("key_name").GetString());
        Assert.Equal("user", principal.GetProperty("role").GetString());
        Assert.Equal("team-a", principal.GetProperty("namespace").GetString());
    }

    [Fact]
    public async Task ListKeys_AfterCreate_ShowsNamesRolesNamespacesWithoutSecrets()
    {
        using var factory = new FunctionsFactory(azurite);
        using var admin = factory.CreateKeyedClient();
        using var a = await admin.PostAsJsonAsync(Keys, new { name = "alpha", role = "admin" });
        using var b = await admin.PostAsJsonAsync(Keys, new { name = "beta", role = "user", @namespace = "ns1" });
        var secret = (await AuthTests.JsonOf(b)).RootElement.GetProperty("key").GetProperty("value").GetString()!;

        using var list = await admin.GetAsync(Keys);

        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var text = await list.Content.ReadAsStringAsync();
        Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        using var body = JsonDocument.Parse(text);
        var keys = body.RootElement.GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(2, body.RootElement.GetProperty("total").GetInt32());
        Assert.Equal(["alpha", "beta"], keys.Select(k => k.GetProperty("name").GetString()));
        Assert.Equal("admin", keys[0].GetProperty("role").GetString());
        Assert.Equal("default", keys[0].GetProperty("namespace").GetString());
        Assert.Equal("ns1", keys[1].GetProperty("namespace").GetString());
        Assert.All(keys, k => Assert.False(k.TryGetProperty("value", out _)));
        Assert.All(keys, k => Assert.True(k.TryGetProperty("created_at", out _)));
    }

    [Fact]
    public async Task RevokeKey_Existing_KeyAndItsSessionStopWorking()
    {
        using var factory = new FunctionsFactory(azurite);
        using var admin = factory.CreateKeyedClient();
        var secret = await CreateAsync(admin, "temp", "user", "ns");
        using var user = factory.CreateKeyedClient(secret);
        using (var before = await user.GetAsync(Me))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using var anonymous = factory.CreateKeyedClient(key: null);
        using var login = await anonymous.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { key = secret });
        var cookie = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("session=", StringComparison.Ordinal)).Split(';')[0];

        using var revoke = await admin.DeleteAsync(new Uri("/api/keys/temp", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);

        using var after = await user.GetAsync(Me);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, Me);
        request.Headers.Add("Cookie", cookie);
        using var session = await anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, session.StatusCode);
        using var list = await admin.GetAsync(Keys);
        Assert.Equal(0, (await AuthTests.JsonOf(list)).RootElement.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task RevokeKey_Unknown_Returns404()
    {
        using var factory = new FunctionsFactory(azurite);
        using var admin = factory.CreateKeyedClient();

        using var response = await admin.DeleteAsync(new Uri("/api/keys/nobody", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False((await AuthTests.JsonOf(response)).RootElement.GetProperty("success").GetBoolean());
    }

    [Fact]
    public async Task CreateKey_SameNameTwice_Returns409AndKeepsTheFirst()
    {
        using var factory = new FunctionsFactory(azurite);
        using var admin = factory.CreateKeyedClient();
        var first = await CreateAsync(admin, "dup", "user", "x");

        using var again = await admin.PostAsJsonAsync(Keys, new { name = "dup", role = "admin" });

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        using var user = factory.CreateKeyedClient(first);
        using var me = await user.GetAsync(Me);
        Assert.Equal("user", (await AuthTests.JsonOf(me)).RootElement.GetProperty("user").GetProperty("role").GetString());
    }

    [Theory]
    [InlineData("bad name", "user", "ns")]
    [InlineData("", "user", "ns")]
    [InlineData("master", "admin", "ns")]
    [InlineData("ok", "root", "ns")]
    [InlineData("ok", "user", "no/slashes")]
    public async Task CreateKey_InvalidRequest_Returns400AndCreatesNothing(string name, string role, string ns)
    {
        using var factory = new FunctionsFactory(azurite);
        using var admin = factory.CreateKeyedClient();

        using var response = await admin.PostAsJsonAsync(Keys, new { name, role, @namespace = ns });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = await AuthTests.JsonOf(response);
        Assert.False(body.RootElement.GetProperty("success").GetBoolean());
        using var list = await admin.GetAsync(Keys);
        Assert.Equal(0, (await AuthTests.JsonOf(list)).RootElement.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task KeysRoutes_UserKey_Returns403WithSeed003Body()
    {
        using var factory = new FunctionsFactory(azurite);
        using var admin = factory.CreateKeyedClient();
        var secret = await CreateAsync(admin, "plain", "user", "ns");
        using var user = factory.CreateKeyedClient(secret);

        using var list = await user.GetAsync(Keys);
        using var create = await user.PostAsJsonAsync(Keys, new { name = "escalate", role = "admin" });

        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
        using var body = await AuthTests.JsonOf(create);
        Assert.False(body.RootElement.GetProperty("success").GetBoolean());
        Assert.Equal("Unauthorized - Insufficient privileges", body.RootElement.GetProperty("message").GetString());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("error").GetString()));
        using var after = await admin.GetAsync(Keys);
        Assert.Equal(1, (await AuthTests.JsonOf(after)).RootElement.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task KeysRoutes_NamedAdminKey_MayManageKeys()
    {
        using var factory = new FunctionsFactory(azurite);
        using var master = factory.CreateKeyedClient();
        var secret = await CreateAsync(master, "ops", "admin", "default");
        using var admin = factory.CreateKeyedClient(secret);

        var created = await CreateAsync(admin, "made-by-ops", "user", "ns");

        Assert.False(string.IsNullOrEmpty(created));
    }

    internal static async Task<string> CreateAsync(HttpClient admin, string name, string role, string ns)
    {
        using var response = await admin.PostAsJsonAsync(Keys, new { name, role, @namespace = ns });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var body = await AuthTests.JsonOf(response);
        return body.RootElement.GetProperty("key").GetProperty("value").GetString()!;
    }
}
