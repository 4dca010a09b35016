using System.Net;
using System.Text.Json;
using Azure;
using EnvFabric.Core.V2;
using EnvFabric.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Moq;

namespace EnvFabric.Functions.Tests;

/// <summary>Seed 002's system codes: a storage failure is 2002 (503), any other unexpected failure 2001 (500).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class V2ErrorTests(AzuriteFixture azurite)
{
    private static readonly Uri Templates = new("/v2/templates", UriKind.Relative);

    private async Task<(HttpStatusCode Status, JsonElement Body)> ListTemplatesFailingWith(Exception failure)
    {
        var templates = new Mock<IJobTemplateRepository>();
        templates.Setup(t => t.ListAsync(It.IsAny<CancellationToken>())).ThrowsAsync(failure);
        using var factory = new FunctionsFactory(azurite);
        using var app = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton(templates.Object)));
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("x-functions-key", FunctionsFactory.MasterKey);
        using var response = await client.GetAsync(Templates);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, doc.RootElement.Clone());
    }

    [Fact]
    public async Task StorageFailure_OnV2_Is2002With503()
    {
        var (status, body) = await ListTemplatesFailingWith(new RequestFailedException(500, "The server encountered an internal error.", "InternalError", null));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("2002", body.GetProperty("code").GetString());
        Assert.False(body.GetProperty("success").GetBoolean());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("data").ValueKind);
        Assert.StartsWith("Storage unavailable", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("RequestFailedException", body.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OtherFailure_OnV2_Is2001With500()
    {
        var (status, body) = await ListTemplatesFailingWith(new InvalidOperationException("a defect"));

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("2001", body.GetProperty("code").GetString());
        Assert.DoesNotContain("a defect", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void IsStorageFailure_SeesWrappedFailures()
    {
        Assert.True(Http.GlobalExceptionHandler.IsStorageFailure(new AggregateException(new RequestFailedException("x"))));
        Assert.True(Http.GlobalExceptionHandler.IsStorageFailure(new InvalidOperationException("outer", new RequestFailedException("x"))));
        Assert.False(Http.GlobalExceptionHandler.IsStorageFailure(new InvalidOperationException("x")));
    }
}
