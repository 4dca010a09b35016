using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class AuthTests(AzuriteFixture azurite)
{
    private static readonly Uri Me = new("/api/auth/me", UriKind.Relative);

    [Fact]
    public async Task Request_NoKeyOnApiRoute_Returns401WithSeed003Body()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient(key: null);

        using var response = await client.GetAsync(new Uri("/api/keys", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var body = await JsonOf(response);
        Assert.False(body.RootElement.GetProperty("success").GetBoolean());
        Assert.Equal("Authentication required", body.RootElement.GetProperty("message").GetString());
        Assert.Equal("Please log in to perform this operation", body.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Request_NoKeyOnEnvsRoute_Returns401WithFabricErrorCode()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient(key: null);

        using var response = await client.GetAsync(new Uri("/envs/some-env", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var body = await JsonOf(response);
        Assert.Equal("UNAUTHORIZED", body.RootElement.GetProperty("error_code").GetString());
        Assert.Contains("Authentication required", body.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_NoKeyOnV2Route_Returns401InV2Envelope()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient(key: null);

        using var response = await client.GetAsync(new Uri("/v2/tasks", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var body = await JsonOf(response);
        Assert.False(body.RootElement.GetProperty("success").GetBoolean());
        Assert.Equal(JsonValueKind.Null, body.RootElement.GetProperty("data").ValueKind);
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("code").GetString()));
        Assert.Contains("Authentication required", body.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_MasterKeyInHeader_IsAdmin()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient();

        using var response = await client.GetAsync(Me);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = await JsonOf(response);
        var user = body.RootElement.GetProperty("user");
        Assert.Equal("master", user.GetProperty("key_name").GetString());
        Assert.Equal("admin", user.GetProperty("role").GetString());
    }

    [Fact]
    public async Task Request_MasterKeyInCodeQuery_Succeeds()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient(key: null);

        using var response = await client.GetAsync(new Uri("/api/auth/me?code=" + Uri.EscapeDataString(FunctionsFactory.MasterKey), UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Request_WrongKey_Returns401SayingTheKeyIsNotValid()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient("not-the-master-key-at-all");

        using var response = await client.GetAsync(Me);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var body = await JsonOf(response);
        Assert.Equal("Authentication required", body.RootElement.GetProperty("message").GetString());
        Assert.Equal("The function key is not valid", body.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Health_NoKey_StillAnswers()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient(key: null);

        using var response = await client.GetAsync(new Uri("/api/health", UriKind.Relative));

        // No runner runs here, so health may answer 503; what matters is that it answers without a key.
        Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(body.RootElement.TryGetProperty("components", out _));
    }

    [Theory]
    [InlineData("/api/no-such-route", "success")]
    [InlineData("/envs/a/b/c/no-such-route", "error_code")]
    [InlineData("/v2/no-such-route", "code")]
    public async Task Request_UnknownRouteWithKey_Returns404InTheDialect(string path, string field)
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient();

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var body = await JsonOf(response);
        Assert.True(body.RootElement.TryGetProperty(field, out _), $"{path}: expected '{field}' in {body.RootElement}");
    }

    [Fact]
    public async Task Login_WithKeyInBody_SetsHttpOnlyStrictCookieAcceptedInPlaceOfTheKey()
    {
        using var factory = new FunctionsFactory(azurite);
        using var anonymous = factory.CreateKeyedClient(key: null);

        using var login = await anonymous.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { key = FunctionsFactory.MasterKey });

        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var setCookie = Assert.Single(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith("session=", StringComparison.Ordinal));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);

        using var fresh = factory.CreateKeyedClient(key: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, Me);
        request.Headers.Add("Cookie", setCookie.Split(';')[0]);
        using var me = await fresh.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        using var body = await JsonOf(me);
        Assert.Equal("master", body.RootElement.GetProperty("user").GetProperty("key_name").GetString());
    }

    [Fact]
    public async Task Login_WithKeyInHeader_OpensSession()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient();

        using var login = await client.PostAsync(new Uri("/api/auth/login", UriKind.Relative), content: null);

        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Contains(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith("session=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Login_WrongKey_Returns401AndNoCookie()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient(key: null);

        using var login = await client.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { key = "wrong-wrong-wrong-wrong" });

        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        Assert.False(login.Headers.Contains("Set-Cookie"));
        using var body = await JsonOf(login);
        Assert.Equal("Authentication required", body.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Session_ForgedCookie_Returns401()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient(key: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, Me);
        request.Headers.Add("Cookie", "session=CfDJ8forged-not-a-real-ticket");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Session_AfterLogout_IsCleared()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateClient();
        using var login = await client.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { key = FunctionsFactory.MasterKey });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        using (var before = await client.GetAsync(Me))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using var logout = await client.PostAsync(new Uri("/api/auth/logout", UriKind.Relative), content: null);
        Assert.Equal(HttpStatusCode.OK, logout.StatusCode);

        using var after = await client.GetAsync(Me);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task Session_SurvivesHostRestart()
    {
        // Two hosts on one storage prefix and share: the second reads the key ring the first wrote.
        var prefix = AzuriteFixture.UniqueName("p");
        string cookie;
        using (var first = new FunctionsFactory(azurite, new Dictionary<string, string?> { ["ENVFABRIC_STORAGE_PREFIX"] = prefix }))
        {
            using var client = first.CreateKeyedClient(key: null);
            using var login = await client.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { key = FunctionsFactory.MasterKey });
            cookie = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("session=", StringComparison.Ordinal)).Split(';')[0];
        }

        using var second = new FunctionsFactory(azurite, new Dictionary<string, string?> { ["ENVFABRIC_STORAGE_PREFIX"] = prefix });
        using var fresh = second.CreateKeyedClient(key: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, Me);
        request.Headers.Add("Cookie", cookie);
        using var response = await fresh.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Session_MasterKeyChanged_IsRejected()
    {
        var prefix = AzuriteFixture.UniqueName("p");
        string cookie;
        using (var first = new FunctionsFactory(azurite, new Dictionary<string, string?> { ["ENVFABRIC_STORAGE_PREFIX"] = prefix }))
        {
            using var client = first.CreateKeyedClient(key: null);
            using var login = await client.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { key = FunctionsFactory.MasterKey });
            cookie = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("session=", StringComparison.Ordinal)).Split(';')[0];
        }

        using var second = new FunctionsFactory(azurite, new Dictionary<string, string?>
        {
            ["ENVFABRIC_STORAGE_PREFIX"] = prefix,
            ["FUNCTIONS_MASTER_KEY"] = "a-different-master-key-0123456789",
        });
        using var fresh = second.CreateKeyedClient(key: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, Me);
        request.Headers.Add("Cookie", cookie);
        using var response = await fresh.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Me_Body_StartsWithSuccessAsTheSeedsDo()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient();

        using var response = await client.GetAsync(Me);

        var text = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("{\"success\":true", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MasterKey_SettingEmpty_GeneratedPersistedAndStableAcrossRestart()
    {
        using var share = new TempDirectory("envfabric-keys");
        var settings = new Dictionary<string, string?> { ["FUNCTIONS_MASTER_KEY"] = "", ["DATA_ROOT"] = share.Path };
        var file = Path.Combine(share.Path, "host", "master.key");

        using (var first = new FunctionsFactory(azurite, settings))
        {
            using var client = first.CreateKeyedClient(key: null);
            using var health = await client.GetAsync(new Uri("/api/health", UriKind.Relative));
        }

        Assert.True(File.Exists(file));
        var key = (await File.ReadAllTextAsync(file)).Trim();
        Assert.True(key.Length >= 40, "a generated key carries 256 random bits");
        Assert.NotEqual(FunctionsFactory.MasterKey, key);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }

        using var second = new FunctionsFactory(azurite, settings);
        using var keyed = second.CreateKeyedClient(key);
        using var response = await keyed.GetAsync(Me);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(key, (await File.ReadAllTextAsync(file)).Trim());
        using var old = second.CreateKeyedClient();
        using var refused = await old.GetAsync(Me);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public void MasterKey_TooShort_StopsTheHostNamingTheSetting()
    {
        using var factory = new FunctionsFactory(azurite, new Dictionary<string, string?> { ["FUNCTIONS_MASTER_KEY"] = "short" });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("FUNCTIONS_MASTER_KEY", error.ToString(), StringComparison.Ordinal);
    }

    internal static async Task<JsonDocument> JsonOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync());
}
