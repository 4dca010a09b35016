using System.Net;
using System.Text.Json;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class OpenApiTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Document_NoKey_ListsRoutesWithTheKeySecuritySchemes()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient(key: null);

        using var response = await client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        var paths = root.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/health", out var health));
        Assert.True(paths.TryGetProperty("/api/keys", out var keys));
        Assert.True(paths.TryGetProperty("/api/keys/{name}", out _));
        Assert.True(paths.TryGetProperty("/api/auth/login", out _));
        Assert.True(paths.TryGetProperty("/api/system/consistency", out var consistency));
        Assert.True(paths.TryGetProperty("/api/system/consistency/repair", out var repair));
        Assert.Equal("System", consistency.GetProperty("get").GetProperty("tags")[0].GetString());
        Assert.True(repair.GetProperty("post").GetProperty("responses").TryGetProperty("403", out _), "the repair documents 403");

        var schemes = root.GetProperty("components").GetProperty("securitySchemes");
        var header = schemes.GetProperty("functionKey");
        Assert.Equal("apiKey", header.GetProperty("type").GetString());
        Assert.Equal("header", header.GetProperty("in").GetString());
        Assert.Equal("x-functions-key", header.GetProperty("name").GetString());
        var query = schemes.GetProperty("functionKeyQuery");
        Assert.Equal("query", query.GetProperty("in").GetString());
        Assert.Equal("code", query.GetProperty("name").GetString());

        var listSecurity = keys.GetProperty("get").GetProperty("security").EnumerateArray()
            .SelectMany(r => r.EnumerateObject().Select(p => p.Name)).ToList();
        Assert.Contains("functionKey", listSecurity);
        Assert.Contains("functionKeyQuery", listSecurity);
        Assert.False(health.GetProperty("get").TryGetProperty("security", out _), "health needs no key");
        var createResponses = keys.GetProperty("post").GetProperty("responses");
        foreach (var status in new[] { "201", "400", "401", "403", "409", "429" })
        {
            Assert.True(createResponses.TryGetProperty(status, out _), $"POST /api/keys documents {status}");
        }

        Assert.False(health.GetProperty("get").GetProperty("responses").TryGetProperty("401", out _));
    }

    [Fact]
    public async Task ReferencePage_NoKey_IsBrowsable()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient(key: null);

        using var response = await client.GetAsync(new Uri("/scalar/", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        var script = System.Text.RegularExpressions.Regex.Match(html, "<script[^>]+src=\"([^\"]+)\"").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(script), html);
        using var asset = await client.GetAsync(new Uri(new Uri("http://localhost/scalar/"), script));
        Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
    }
}
