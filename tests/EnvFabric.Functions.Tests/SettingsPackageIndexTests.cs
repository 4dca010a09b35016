using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

/// <summary><c>/api/settings/package-index</c> over HTTP with a runner that has no index settings of its own.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class SettingsPackageIndexTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task PackageIndex_PointedAtWheelhouse_RunnerWithoutIndexSettingsInstallsFromIt()
    {
        // The runner gets neither PIP_NO_INDEX nor PIP_FIND_LINKS: only the stored setting can find the wheels.
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, new Dictionary<string, string?> { ["PIP_NO_INDEX"] = null, ["PIP_FIND_LINKS"] = null });
        var (empty, emptyBody) = await host.SendAsync(HttpMethod.Get, "/api/settings/package-index");
        Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
        Assert.Null(emptyBody!["index_url"]);
        Assert.False(emptyBody["no_index"]!.GetValue<bool>());

        var wheels = EnvironmentHostForTests.WheelhouseDirectory;
        var (set, setBody) = await host.SendAsync(HttpMethod.Put, "/api/settings/package-index", new { find_links = new[] { wheels }, no_index = true, trusted_hosts = new[] { "pypi.internal:8080" } });
        Assert.True(set.StatusCode == HttpStatusCode.OK, setBody?.ToJsonString());
        Assert.Equal([wheels], setBody!["find_links"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray());
        Assert.True(setBody["no_index"]!.GetValue<bool>());

        var created = await host.CreateCondaAsync("from-wheelhouse", "beta==2.0");
        var (_, env) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/from-wheelhouse");
        var packages = env!.ToJsonString();
        Assert.Contains("beta", packages, StringComparison.Ordinal);
        Assert.Contains("alpha", packages, StringComparison.Ordinal);
        Assert.NotNull(created);

        // Refusals change nothing, and a user key cannot set it (but may read it).
        var before = (await host.SendAsync(HttpMethod.Get, "/api/settings/package-index")).Body!.ToJsonString();
        object[] bad =
        [
            new { index_url = "ftp://mirror/simple" },
            new { index_url = "not a url" },
            new { extra_index_urls = new[] { "file:///srv" } },
            new { find_links = new[] { "relative/dir" } },
            new { find_links = new[] { "/srv/../etc" } },
            new { trusted_hosts = new[] { "host:0" } },
            new { trusted_hosts = new[] { "http://host" } },
        ];
        foreach (var body in bad)
        {
            var (response, json) = await host.SendAsync(HttpMethod.Put, "/api/settings/package-index", body);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{JsonContent.Create(body).Value}: {(int)response.StatusCode} {json?.ToJsonString()}");
            Assert.False(json!["success"]!.GetValue<bool>());
            Assert.Equal("Invalid package index", json["message"]!.GetValue<string>());
        }

        using var key = await host.Client.PostAsJsonAsync(new Uri("/api/keys", UriKind.Relative), new { name = "index-bot", role = "user", @namespace = "team-a" });
        using var user = host.Factory.CreateKeyedClient(JsonNode.Parse(await key.Content.ReadAsStringAsync())!["key"]!["value"]!.GetValue<string>());
        using var userPut = await user.PutAsJsonAsync(new Uri("/api/settings/package-index", UriKind.Relative), new { no_index = false });
        Assert.Equal(HttpStatusCode.Forbidden, userPut.StatusCode);
        Assert.Equal(before, JsonNode.Parse(await user.GetStringAsync(new Uri("/api/settings/package-index", UriKind.Relative)))!.ToJsonString());
        Assert.Equal(before, (await host.SendAsync(HttpMethod.Get, "/api/settings/package-index")).Body!.ToJsonString());

        // {} clears it; both changes are audited.
        var (cleared, clearedBody) = await host.SendAsync(HttpMethod.Put, "/api/settings/package-index", new { });
        Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        Assert.Empty(clearedBody!["find_links"]!.AsArray());
        Assert.False(clearedBody["no_index"]!.GetValue<bool>());
        Assert.Empty((await host.SendAsync(HttpMethod.Get, "/api/settings/package-index")).Body!["find_links"]!.AsArray());
        var (_, audit) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation=settings.package-index");
        Assert.Equal(2, audit!["count"]!.GetValue<int>());
    }
}
