using System.Net;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Extensions;
using EnvFabric.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
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
        Assert.NotEqual(HttpStatusCode.TooManyRequests, health.StatusCode);
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
    public void GlobalLimiter_MaxConcurrentRequests_HoldsBackTheNextUntilOneEnds()
    {
        using var limiter = RateLimitExtensions.CreateGlobalLimiter(requestsPerMinute: 0, maxConcurrentRequests: 2);
        var a = Keyed("a");
        var b = Keyed("b");

        using var first = limiter.AttemptAcquire(a);
        using var second = limiter.AttemptAcquire(b);
        var third = limiter.AttemptAcquire(Keyed("c"));

        Assert.True(first.IsAcquired);
        Assert.True(second.IsAcquired);
        Assert.False(third.IsAcquired);
        third.Dispose();
        first.Dispose();
        using var afterOne = limiter.AttemptAcquire(Keyed("c"));
        Assert.True(afterOne.IsAcquired);
        using var health = limiter.AttemptAcquire(Health());
        Assert.True(health.IsAcquired, "health is never held back");
    }

    [Fact]
    public void GlobalLimiter_PerKey_CountsEachKeyApartAndTellsWhenToRetry()
    {
        using var limiter = RateLimitExtensions.CreateGlobalLimiter(requestsPerMinute: 2, maxConcurrentRequests: 100);

        using var a1 = limiter.AttemptAcquire(Keyed("a"));
        using var a2 = limiter.AttemptAcquire(Keyed("a"));
        using var a3 = limiter.AttemptAcquire(Keyed("a"));
        using var b1 = limiter.AttemptAcquire(Keyed("b"));

        Assert.True(a1.IsAcquired && a2.IsAcquired);
        Assert.False(a3.IsAcquired);
        Assert.True(a3.TryGetMetadata(System.Threading.RateLimiting.MetadataName.RetryAfter, out var retryAfter));
        Assert.True(retryAfter > TimeSpan.Zero && retryAfter <= TimeSpan.FromMinutes(1));
        Assert.True(b1.IsAcquired);
    }

    private static DefaultHttpContext Keyed(string key) =>
        new() { User = new KeyIdentity(key, KeyRoles.User, "ns", key).ToPrincipal("test") };

    private static DefaultHttpContext Health()
    {
        var context = new DefaultHttpContext();
        context.SetEndpoint(new Endpoint(_ => Task.CompletedTask, new EndpointMetadataCollection(new EndpointNameMetadata("Health")), "Health"));
        return context;
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
            Assert.NotEqual(HttpStatusCode.TooManyRequests, response.StatusCode);
        }
    }
}
