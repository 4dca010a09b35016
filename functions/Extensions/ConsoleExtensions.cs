using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace EnvFabric.Functions.Extensions;

/// <summary>
/// The web console (<c>console/</c>, built to <c>console/dist</c> and copied beside the host as <c>console/</c>):
/// its files at <c>/</c>, hashed assets cached for a year, <c>index.html</c> revalidated on every load, and
/// <c>index.html</c> for any other GET outside the APIs, so the console's own routes survive a reload. Served
/// ahead of authentication: the console holds no data, every call it makes goes through the APIs with the
/// session cookie of <c>POST /api/auth/login</c>.
/// </summary>
public static class ConsoleExtensions
{
    /// <summary>The folder beside the host's assembly that the build copies <c>console/dist</c> into.</summary>
    public const string DefaultFolder = "console";

    public const string ImmutableCache = "public, max-age=31536000, immutable";

    public const string RevalidateCache = "no-cache";

    // Everything the console loads is its own (no CDN); Monaco's workers start from blob: URLs.
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; " +
        "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

    private static readonly string[] ApiPrefixes = ["/api", "/envs", "/v2", "/runtime", "/openapi", "/scalar"];

    /// <summary>Where the console is read from: <c>CONSOLE_ROOT</c> when set, else <see cref="DefaultFolder"/> beside the host.</summary>
    public static string ResolveRoot(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration["CONSOLE_ROOT"] is { Length: > 0 } root
            ? Path.GetFullPath(root)
            : Path.Combine(AppContext.BaseDirectory, DefaultFolder);
    }

    public static WebApplication UseConsole(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var root = ResolveRoot(app.Configuration);
        var index = Path.Combine(root, "index.html");
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ConsoleExtensions).FullName!);
        if (!File.Exists(index))
        {
            logger.ConsoleNotBuilt(root);
            return app;
        }

        var files = new PhysicalFileProvider(root);
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = context => SetHeaders(context.Context, context.Context.Request.Path.StartsWithSegments("/assets", StringComparison.Ordinal)),
        });
        app.Use(async (context, next) =>
        {
            // A file the console does not have (an old hash after a deploy): 404, not a sign-in challenge.
            if (context.Request.Path.StartsWithSegments("/assets", StringComparison.Ordinal) && context.GetEndpoint() is null)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                context.Response.Headers[HeaderNames.CacheControl] = RevalidateCache;
                return;
            }

            if (IsClientRoute(context))
            {
                SetHeaders(context, immutable: false);
                context.Response.ContentType = "text/html; charset=utf-8";
                await context.Response.SendFileAsync(files.GetFileInfo("index.html"), context.RequestAborted);
                return;
            }

            await next(context);
        });
        logger.ConsoleServed(root);
        return app;
    }

    /// <summary>A GET for a page of the console: no API route matched, outside the API prefixes, not a file name.</summary>
    public static bool IsClientRoute(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            return false;
        }

        if (context.GetEndpoint() is not null)
        {
            return false;
        }

        var path = context.Request.Path.Value ?? "/";
        if (ApiPrefixes.Any(p => context.Request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }

        // A missing asset (/assets/x.js, /favicon.ico) is a 404, not the page.
        var last = path[(path.LastIndexOf('/') + 1)..];
        return !last.Contains('.', StringComparison.Ordinal);
    }

    private static void SetHeaders(HttpContext context, bool immutable)
    {
        var headers = context.Response.Headers;
        headers[HeaderNames.CacheControl] = immutable ? ImmutableCache : RevalidateCache;
        headers[HeaderNames.XContentTypeOptions] = "nosniff";
        if (!immutable)
        {
            headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
            headers[HeaderNames.XFrameOptions] = "DENY";
            headers["Referrer-Policy"] = "same-origin";
        }
    }
}
