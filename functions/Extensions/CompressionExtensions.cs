using System.IO.Compression;
using Microsoft.AspNetCore.ResponseCompression;

namespace EnvFabric.Functions.Extensions;

/// <summary>
/// Seed 002's compressed transfer: Brotli or gzip as the client's Accept-Encoding asks, for JSON, NDJSON and
/// text. Server-sent events stay uncompressed so each event reaches the client as it is written.
/// </summary>
public static class CompressionExtensions
{
    public static WebApplicationBuilder AddFunctionsCompression(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddResponseCompression(o =>
        {
            // BREACH needs a secret beside attacker-chosen text; the only secret sent (a new key) sits beside an admin's own input.
            o.EnableForHttps = true;
            o.Providers.Add<BrotliCompressionProvider>();
            o.Providers.Add<GzipCompressionProvider>();
            o.MimeTypes = ResponseCompressionDefaults.MimeTypes.Concat(["application/x-ndjson", "application/problem+json"]);
            o.ExcludedMimeTypes = ["text/event-stream"];
        });

        // Two shared cores: the fastest levels still shrink JSON several times over.
        builder.Services.Configure<BrotliCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
        builder.Services.Configure<GzipCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
        return builder;
    }

    public static WebApplication UseFunctionsCompression(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseResponseCompression();
        return app;
    }
}
