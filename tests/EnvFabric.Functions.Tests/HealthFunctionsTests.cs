using System.Net;
using System.Text.Json;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class HealthFunctionsTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task GetHealth_AllComponentsUpWithLiveRunner_Returns200WithEachComponent()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        using var client = host.App.CreateClient();

        using var response = await client.GetAsync(new Uri("/api/health", UriKind.Relative));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var body = JsonDocument.Parse(text);
        Assert.Equal("healthy", body.RootElement.GetProperty("status").GetString());
        var names = body.RootElement.GetProperty("components").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToList();
        Assert.Equal(new[] { "blobs", "durable", "queues", "runner", "share", "tables" }, names.Order().ToArray());
    }

    [Fact]
    public async Task GetHealth_NoRunnerHeartbeat_Returns503NamingRunner()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient(key: null);

        using var response = await client.GetAsync(new Uri("/api/health", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(new[] { "runner" }, body.RootElement.GetProperty("down").EnumerateArray().Select(d => d.GetString()).ToArray());
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
