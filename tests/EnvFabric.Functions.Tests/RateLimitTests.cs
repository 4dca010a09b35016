using System.Net;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Configuration;
using EnvFabric.Functions.Extensions;
using EnvFabric.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace EnvFabric.Functions.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class RateLimitTests(AzuriteFixture azurite)
{
    private const string Limit = "AzureFunctionsJobHost:extensions:http:rateLimit:requestsPerMinute";
    private const string V2Limit = "AzureFunctionsJobHost:extensions:http:rateLimit:v2:requestsPerMinute";
    private static readonly Uri V2Tasks = new("/v2/tasks", UriKind.Relative);
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
        using var factory = new FunctionsFactory(azurite, new Dictionary<string, string?> { [V2Limit] = "1" });
        using var master = factory.CreateKeyedClient();
        using var first = await master.GetAsync(V2Tasks);

        using var limited = await master.GetAsync(V2Tasks);

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        using var body = await AuthTests.JsonOf(limited);
        Assert.False(body.RootElement.GetProperty("success").GetBoolean());
        Assert.True(body.RootElement.TryGetProperty("code", out _));
        using var other = await master.GetAsync(Me);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task Polling_ApiEvery500MsForTwoMinutes_IsNeverRefused()
    {
        // host.json as shipped; the windows run on a clock the test moves, so two minutes take no real time.
        var clock = new FakeTimeProvider();
        using var factory = new FunctionsFactory(azurite);
        using var app = WithClock(factory, clock);
        using var master = app.CreateClient();
        master.DefaultRequestHeaders.Add("x-functions-key", FunctionsFactory.MasterKey);

        var refused = new List<int>();
        for (var i = 0; i < 240; i++)
        {
            using var response = await master.GetAsync(Me);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                refused.Add(i);
            }

            clock.Advance(TimeSpan.FromMilliseconds(500));
        }

        Assert.Empty(refused);
    }

    [Fact]
    public async Task Request_V2OverSeedLimit_RefusedUntilTheNextMinuteWhileApiIsUnaffected()
    {
        var clock = new FakeTimeProvider();
        using var factory = new FunctionsFactory(azurite);
        using var app = WithClock(factory, clock);
        using var master = app.CreateClient();
        master.DefaultRequestHeaders.Add("x-functions-key", FunctionsFactory.MasterKey);

        for (var i = 0; i < 100; i++)
        {
            using var allowed = await master.GetAsync(V2Tasks);
            Assert.NotEqual(HttpStatusCode.TooManyRequests, allowed.StatusCode);
        }

        clock.Advance(TimeSpan.FromSeconds(20));
        using var limited = await master.GetAsync(V2Tasks);
        using var api = await master.GetAsync(Me);
        clock.Advance(TimeSpan.FromSeconds(40));
        using var nextMinute = await master.GetAsync(V2Tasks);

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(40), limited.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        Assert.NotEqual(HttpStatusCode.TooManyRequests, nextMinute.StatusCode);
    }

    [Fact]
    public async Task Stream_SseInstallLog_CountsAsOneRequest()
    {
        var clock = new FakeTimeProvider();
        await using var host = await EnvironmentHostForTests.StartAsync(
            azurite,
            new Dictionary<string, string?> { ["AzureFunctionsJobHost:extensions:http:rateLimit:api:requestsPerMinute"] = "5" },
            services: s => s.AddKeyedSingleton<TimeProvider>(RateLimitExtensions.ClockKey, clock));

        await host.CreateCondaAsync("streamed", "gamma");
        using var stream = await host.Client.GetAsync(new Uri("/api/conda/environment/streamed/logs?stream=true", UriKind.Relative));
        var events = await stream.Content.ReadAsStringAsync();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await host.Client.GetAsync(Me);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.True(events.Split("event: log").Length > 3, events);
        Assert.Contains("event: end", events, StringComparison.Ordinal);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Theory]
    [InlineData("/v2/tasks", "v2", 100)]
    [InlineData("/V2", "v2", 100)]
    [InlineData("/api/conda/environments", "api", 1200)]
    [InlineData("/envs/wf/n1", "envs", 1200)]
    [InlineData("/runtime/webhooks/durabletask/instances", "other", 1200)]
    public void LimitOf_Path_IsItsDialectsLimit(string path, string dialect, int perMinute)
    {
        Assert.Equal((dialect, perMinute), RateLimitExtensions.LimitOf(new HostJsonOptions.RateLimitOptions(), path));
    }

    private static Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> WithClock(FunctionsFactory factory, TimeProvider clock) =>
        factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddKeyedSingleton(RateLimitExtensions.ClockKey, clock)));

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
        using var limiter = RateLimitExtensions.CreateGlobalLimiter(Http(perMinute: 0, maxConcurrent: 2), TimeProvider.System);
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
        using var limiter = RateLimitExtensions.CreateGlobalLimiter(Http(perMinute: 2, maxConcurrent: 100), TimeProvider.System);

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

    private static HostJsonOptions.HttpOptions Http(int perMinute, int maxConcurrent) =>
        new() { MaxConcurrentRequests = maxConcurrent, RateLimit = new() { RequestsPerMinute = perMinute } };

    private static DefaultHttpContext Keyed(string key) =>
        new() { User = new KeyIdentity(key, KeyRoles.User, "ns", key).ToPrincipal("test"), Request = { Path = "/api/tasks" } };

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
