using System.Net;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class RateLimitTests(AzuriteFixture azurite)
{
    private const string Limit = "AzureFunctionsJobHost:extensions:http:rateLimit:requestsPerMinute";
    private static readonly Uri Me = new("/api/auth/me", UriKind.Relative);

    [Fact]
    public async Task Request_OverPerKeyLimit_Returns429WithRetryAfterAndOtherKeysUnaffected()
    {
        using var factory = new FunctionsFactory(azurite, new Dictionary<string, string?> { [Limit] = "3" });
        using var master = factory.CreateKeyedClient();
        var other = await KeysFunctionsTests.CreateAsync(master, "other", "user", "ns");

        // The create above was the master key's first request of the minute.
        for (var i = 0; i < 2; i++)
        {
            using var ok = await master.GetAsync(Me);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var limited = await master.GetAsync(Me);

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After in seconds");
        using var body = await AuthTests.JsonOf(limited);
        Assert.False(body.RootElement.GetProperty("success").GetBoolean());
        Assert.Equal("Too many requests", body.RootElement.GetProperty("message").GetString());

        using var otherClient = factory.CreateKeyedClient(other);
        using var unaffected = await otherClient.GetAsync(Me);
        Assert.Equal(HttpStatusCode.OK, unaffected.StatusCode);
        using var health = await factory.CreateKeyedClient().GetAsync(new Uri("/api/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Request_OverLimitOnV2Route_Returns429InV2Envelope()
    {
        using var factory = new FunctionsFactory(azurite, new Dictionary<string, string?> { [Limit] = "1" });
        using var master = factory.CreateKeyedClient();
        using var first = await master.GetAsync(Me);

        using var limited = await master.GetAsync(new Uri("/v2/tasks", UriKind.Relative));

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        using var body = await AuthTests.JsonOf(limited);
        Assert.False(body.RootElement.GetProperty("success").GetBoolean());
        Assert.True(body.RootElement.TryGetProperty("code", out _));
    }

    [Fact]
    public async Task Request_LimitZero_NeverLimits()
    {
        using var factory = new FunctionsFactory(azurite, new Dictionary<string, string?> { [Limit] = "0" });
        using var master = factory.CreateKeyedClient();

        for (var i = 0; i < 20; i++)
        {
            using var response = await master.GetAsync(Me);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public void RequestTimeout_FunctionTimeout_IsTheDefaultPolicy()
    {
        using var factory = new FunctionsFactory(azurite, new Dictionary<string, string?> { ["AzureFunctionsJobHost:functionTimeout"] = "00:02:30" });
        using var client = factory.CreateClient();

        var options = factory.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Timeouts.RequestTimeoutOptions>>().Value;

        Assert.Equal(TimeSpan.FromSeconds(150), options.DefaultPolicy?.Timeout);
        Assert.Equal(504, options.DefaultPolicy?.TimeoutStatusCode);
    }

    [Fact]
    public async Task Health_AfterKeyExhausted_IsExempt()
    {
        using var factory = new FunctionsFactory(azurite, new Dictionary<string, string?> { [Limit] = "1" });
        using var master = factory.CreateKeyedClient();

        for (var i = 0; i < 5; i++)
        {
            using var response = await master.GetAsync(new Uri("/api/health", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }
}
