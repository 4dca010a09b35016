using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EnvFabric.Functions.Extensions;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

/// <summary>The host's serving of the web console: files, cache headers, client routes, and the APIs left alone.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class ConsoleHostTests(AzuriteFixture azurite) : IDisposable
{
    private const string IndexHtml = "<!doctype html><html><head><script type=\"module\" src=\"/assets/index-abc123.js\"></script></head><body><div id=\"app\"></div></body></html>";

    private readonly TempDirectory _console = CreateConsole();

    private static TempDirectory CreateConsole()
    {
        var dir = new TempDirectory("envfabric-console");
        File.WriteAllText(dir.Combine("index.html"), IndexHtml);
        File.WriteAllText(dir.Combine("favicon.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
        Directory.CreateDirectory(dir.Combine("assets"));
        File.WriteAllText(dir.Combine("assets", "index-abc123.js"), "console.log('console')");
        return dir;
    }

    private FunctionsFactory Factory(string? root = null) =>
        new(azurite, new Dictionary<string, string?> { ["CONSOLE_ROOT"] = root ?? _console.Path });

    [Theory]
    [InlineData("/")]
    [InlineData("/tasks")]
    [InlineData("/orchestrations/abc:def")]
    [InlineData("/environments/ml")]
    public async Task Get_ClientRouteWithoutKey_ServesIndexRevalidatedWithCsp(string path)
    {
        using var factory = Factory();
        using var client = factory.CreateKeyedClient(key: null);

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(IndexHtml, await response.Content.ReadAsStringAsync());
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        Assert.Equal(ConsoleExtensions.ContentSecurityPolicy, response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Fact]
    public async Task Get_HashedAsset_IsImmutableForAYear_MissingAssetIs404()
    {
        using var factory = Factory();
        using var client = factory.CreateKeyedClient(key: null);

        using var asset = await client.GetAsync(new Uri("/assets/index-abc123.js", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
        Assert.Equal("public, max-age=31536000, immutable", asset.Headers.CacheControl?.ToString());
        Assert.Equal("console.log('console')", await asset.Content.ReadAsStringAsync());

        using var icon = await client.GetAsync(new Uri("/favicon.svg", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, icon.StatusCode);
        Assert.Equal("no-cache", icon.Headers.CacheControl?.ToString());

        using var missing = await client.GetAsync(new Uri("/assets/index-old999.js", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Theory]
    [InlineData("/api/tasks", HttpStatusCode.Unauthorized)]
    [InlineData("/api/no-such-route", HttpStatusCode.Unauthorized)]
    [InlineData("/v2/tasks", HttpStatusCode.Unauthorized)]
    [InlineData("/runtime/webhooks/durabletask/instances", HttpStatusCode.Unauthorized)]
    public async Task Get_ApiRouteWithoutKey_KeepsItsOwnAnswer(string path, HttpStatusCode expected)
    {
        using var factory = Factory();
        using var client = factory.CreateKeyedClient(key: null);

        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(expected, response.StatusCode);
        Assert.NotEqual("text/html", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Get_UnknownApiRouteWithKey_IsTheDialects404NotThePage()
    {
        using var factory = Factory();
        using var client = factory.CreateKeyedClient();

        using var response = await client.GetAsync(new Uri("/api/no-such-route", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(body.RootElement.GetProperty("success").GetBoolean());
    }

    [Fact]
    public async Task Post_ClientRoute_IsNotThePage()
    {
        using var factory = Factory();
        using var client = factory.CreateKeyedClient(key: null);

        using var response = await client.PostAsync(new Uri("/tasks", UriKind.Relative), null);

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual("text/html", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Get_ConsoleNotBuilt_RootIsNotServedAndApisWork()
    {
        using var empty = new TempDirectory("envfabric-console-empty");
        using var factory = Factory(empty.Path);
        using var client = factory.CreateKeyedClient(key: null);

        using var root = await client.GetAsync(new Uri("/", UriKind.Relative));
        Assert.NotEqual(HttpStatusCode.OK, root.StatusCode);
        using var health = await client.GetAsync(new Uri("/api/health", UriKind.Relative));
        Assert.NotEqual("text/html", health.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Session_WithoutAndWithACookie_Answers200WithWhetherSignedIn()
    {
        using var factory = Factory();
        using var client = factory.CreateKeyedClient(key: null);
        var session = new Uri("/api/auth/session", UriKind.Relative);

        using (var anonymous = await client.GetAsync(session))
        {
            Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
            using var body = JsonDocument.Parse(await anonymous.Content.ReadAsStringAsync());
            Assert.False(body.RootElement.GetProperty("authenticated").GetBoolean());
            Assert.Equal(JsonValueKind.Null, body.RootElement.GetProperty("user").ValueKind);
        }

        using (var login = await client.PostAsJsonAsync(new Uri("/api/auth/login", UriKind.Relative), new { key = FunctionsFactory.MasterKey }))
        {
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        }

        using var signedIn = await client.GetAsync(session);
        Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
        using var user = JsonDocument.Parse(await signedIn.Content.ReadAsStringAsync());
        Assert.True(user.RootElement.GetProperty("authenticated").GetBoolean());
        Assert.Equal("admin", user.RootElement.GetProperty("user").GetProperty("role").GetString());
    }

    public void Dispose() => _console.Dispose();
}
