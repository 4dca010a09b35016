using System.Net;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class EnvironmentSmokeTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task CreateEnvironment_WithWheel_Returns201()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);

        var body = await host.CreateCondaAsync("smoke", "alpha==1.0");

        Assert.Equal("smoke", body["env"]!["name"]!.GetValue<string>());
        var (detail, json) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/smoke");
        Assert.Equal(HttpStatusCode.OK, detail.StatusCode);
        Assert.Contains(json!["packages"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "alpha" && p["version"]!.GetValue<string>() == "1.0");
    }
}
