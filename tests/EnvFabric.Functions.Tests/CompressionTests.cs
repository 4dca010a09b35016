using System.IO.Compression;
using System.Net;
using System.Text.Json;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class CompressionTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData("br")]
    [InlineData("gzip")]
    public async Task Json_AcceptEncoding_IsCompressedAndDecodes(string encoding)
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/openapi/v1.json", UriKind.Relative));
        request.Headers.AcceptEncoding.ParseAdd(encoding);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([encoding], response.Content.Headers.ContentEncoding);
        await using var raw = await response.Content.ReadAsStreamAsync();
        await using Stream decoded = encoding == "br" ? new BrotliStream(raw, CompressionMode.Decompress) : new GZipStream(raw, CompressionMode.Decompress);
        using var document = await JsonDocument.ParseAsync(decoded);
        Assert.True(document.RootElement.TryGetProperty("paths", out _));
    }

    [Fact]
    public async Task ErrorBody_AcceptEncoding_IsCompressed()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient(key: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/keys", UriKind.Relative));
        request.Headers.AcceptEncoding.ParseAdd("gzip");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
    }

    [Fact]
    public async Task Json_NoAcceptEncoding_IsPlain()
    {
        using var factory = new FunctionsFactory(azurite);
        using var client = factory.CreateKeyedClient();

        using var response = await client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));

        Assert.Empty(response.Content.Headers.ContentEncoding);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(document.RootElement.TryGetProperty("paths", out _));
    }
}
