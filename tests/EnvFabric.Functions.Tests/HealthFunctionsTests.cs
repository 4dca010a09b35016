using System.Net;
using System.Text.Json;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class HealthFunctionsTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task GetHealth_AllComponentsUp_Returns200WithEachComponent()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient(key: null);

        using var response = await client.GetAsync(new Uri("/api/health", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("healthy", body.RootElement.GetProperty("status").GetString());
        var names = body.RootElement.GetProperty("components").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToList();
        Assert.Contains("tables", names);
        Assert.Contains("queues", names);
        Assert.Contains("blobs", names);
        Assert.Contains("share", names);
    }

    [Fact]
    public async Task GetHealth_StorageUnreachable_Returns503NamingIt()
    {
        // Nothing listens on this port: every storage component is down, the share is up.
        var port = AzuriteFixture.FreePort();
        using var factory = new FunctionsFactory(azurite, new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = AzuriteFixture.BuildConnectionString(port, port, port),
        });
        using var client = factory.CreateKeyedClient(key: null);

        using var response = await client.GetAsync(new Uri("/api/health", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("unhealthy", body.RootElement.GetProperty("status").GetString());
        var down = body.RootElement.GetProperty("down").EnumerateArray().Select(d => d.GetString()).ToList();
        Assert.Contains("blobs", down);
        Assert.DoesNotContain("share", down);
    }
}
