using System.Globalization;
using System.Threading.RateLimiting;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Configuration;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions.Extensions;

/// <summary>
/// host.json's request limits: <c>extensions.http.rateLimit</c> per key and dialect (<c>v2.requestsPerMinute</c>
/// 100 as seed 002 says; <c>/api</c>, <c>/envs</c> and the rest <c>requestsPerMinute</c>, 1200; 0 = off), each dialect
/// counted apart; <c>extensions.http.maxConcurrentRequests</c> over the whole host (more wait in a queue), and
/// <c>functionTimeout</c> per request. A request counts once when it starts, so an SSE stream is one request
/// however long it runs. Health is exempt from the limits. Long-polls and streams that
/// legitimately outlive functionTimeout opt out with <c>.DisableRequestTimeout()</c> or set their own
/// <c>.WithRequestTimeout(...)</c>.
/// </summary>
public static class RateLimitExtensions
{
    /// <summary>Requests beyond maxConcurrentRequests wait in a queue this many times as long; past it, 429.</summary>
    public const int QueueFactor = 4;

    /// <summary>Key of an optional <see cref="TimeProvider"/> just for the per-key windows (tests drive it with a fake clock).</summary>
    public const string ClockKey = "envfabric:rate-limit";

    public static WebApplicationBuilder AddFunctionsHttpLimits(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<HostJsonOptions>, IServiceProvider>((o, host, services) =>
        {
            var clock = services.GetKeyedService<TimeProvider>(ClockKey) ?? TimeProvider.System;
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.GlobalLimiter = CreateGlobalLimiter(host.Value.Extensions.Http, clock);
            o.OnRejected = OnRejectedAsync;
        });

        builder.Services.AddRequestTimeouts(_ => { });
        builder.Services.AddOptions<RequestTimeoutOptions>().Configure<IOptions<HostJsonOptions>>((o, host) =>
            o.DefaultPolicy = new RequestTimeoutPolicy
            {
                Timeout = host.Value.FunctionTimeout,
                TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
                WriteTimeoutResponse = context => ErrorBodies.ForPath(
                    context.Request.Path,
                    StatusCodes.Status504GatewayTimeout,
                    "Request timed out",
                    $"The request ran longer than functionTimeout ({host.Value.FunctionTimeout:c})").ExecuteAsync(context),
            });
        return builder;
    }

    /// <summary>After authentication (the partition is the key's name) and before authorization.</summary>
    public static WebApplication UseFunctionsHttpLimits(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseRateLimiter();
        app.UseRequestTimeouts();
        return app;
    }

    /// <summary>The limiter's partition for a request: the key's name, else the caller's address.</summary>
    public static string PartitionOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return NamespaceAccess.KeyNameOf(context.User) is { } key
            ? "key:" + key
            : "anonymous:" + (context.Connection.RemoteIpAddress?.ToString() ?? "local");
    }

    /// <summary>The dialect a path belongs to, and its requests per key per minute (0: not limited).</summary>
    public static (string Dialect, int PerMinute) LimitOf(HostJsonOptions.RateLimitOptions limits, PathString path)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var (dialect, own) = path.StartsWithSegments("/v2", StringComparison.OrdinalIgnoreCase) ? ("v2", limits.V2)
            : path.StartsWithSegments("/envs", StringComparison.OrdinalIgnoreCase) ? ("envs", limits.Envs)
            : path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase) ? ("api", limits.Api)
            : ("other", null);
        return (dialect, own?.RequestsPerMinute ?? limits.RequestsPerMinute);
    }

    /// <summary>Per key and dialect first (a rejected request never takes a concurrency slot), then the host-wide concurrency.</summary>
    public static PartitionedRateLimiter<HttpContext> CreateGlobalLimiter(HostJsonOptions.HttpOptions http, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(http);
        return PartitionedRateLimiter.CreateChained(PerKey(http.RateLimit, clock), Concurrency(http.MaxConcurrentRequests));
    }

    private static PartitionedRateLimiter<HttpContext> PerKey(HostJsonOptions.RateLimitOptions limits, TimeProvider clock) =>
        PartitionedRateLimiter.Create<HttpContext, string>(context =>
        {
            var (dialect, perMinute) = LimitOf(limits, context.Request.Path);
            return perMinute == 0 || IsExempt(context)
                ? RateLimitPartition.GetNoLimiter("")
                : RateLimitPartition.Get(dialect + "|" + PartitionOf(context), _ => new ClockedFixedWindowLimiter(perMinute, TimeSpan.FromMinutes(1), clock));
        });

    private static PartitionedRateLimiter<HttpContext> Concurrency(int maxConcurrent) =>
        PartitionedRateLimiter.Create<HttpContext, string>(context =>
            IsExempt(context)
                ? RateLimitPartition.GetNoLimiter("")
                : RateLimitPartition.GetConcurrencyLimiter("host", _ => new ConcurrencyLimiterOptions
                {
                    PermitLimit = maxConcurrent,
                    QueueLimit = maxConcurrent * QueueFactor,
                    QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                }));

    // Health must answer even when the host is saturated: that is when it is needed.
    private static bool IsExempt(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == "Health";

    private static async ValueTask OnRejectedAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var perKey = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter);
        var seconds = perKey ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 1;
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var partition = PartitionOf(context);
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RateLimitExtensions))
            .RequestRejectedByLimiter(context.Request.Method, context.Request.Path, perKey ? partition : "maxConcurrentRequests");
        var (dialect, perMinute) = LimitOf(context.RequestServices.GetRequiredService<IOptions<HostJsonOptions>>().Value.Extensions.Http.RateLimit, context.Request.Path);
        var detail = perKey
            ? $"Rate limit of {perMinute} requests a minute on {(dialect == "other" ? "these routes" : "/" + dialect + "/*")} exceeded for {partition}; retry after {seconds} s"
            : "The host is at extensions.http.maxConcurrentRequests; retry shortly";
        await ErrorBodies.ForPath(context.Request.Path, StatusCodes.Status429TooManyRequests, "Too many requests", detail).ExecuteAsync(context);
    }
}
