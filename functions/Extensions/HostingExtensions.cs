using System.Text.Json;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Storage;
using EnvFabric.Functions.Configuration;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions.Extensions;

/// <summary>The Functions-shaped host: host.json, local.settings.json, options, storage, errors.</summary>
public static class HostingExtensions
{
    /// <summary>Functions' local default port.</summary>
    public const int DefaultPort = 7071;

    public static WebApplicationBuilder AddFunctionsHost(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;

        // local.settings.json Values, then host.json, then the environment again: the environment wins, as under func start.
        var baseDirectory = configuration.AddLocalSettings(builder.Environment.ContentRootPath);
        var hostJson = HostJsonConfiguration.Find(builder.Environment.ContentRootPath)
            ?? throw new InvalidOperationException($"host.json was not found in {builder.Environment.ContentRootPath} or {AppContext.BaseDirectory}; start the host from the repository root.");
        configuration.AddHostJson(hostJson);
        configuration.AddEnvironmentVariables();
        builder.Logging.AddConfiguration(configuration.GetSection(HostJsonOptions.SectionName + ":logging"));

        builder.Services.AddOptions<HostJsonOptions>()
            .Configure(o => HostJsonConfiguration.Bind(configuration.GetSection(HostJsonOptions.SectionName), o))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<HostJsonOptions>, HostJsonValidator>();
        builder.Services.AddOptions<EnvFabricOptions>()
            .Configure(o => SettingsBinding.Bind(configuration, o))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(sp => new DataPaths(sp.GetRequiredService<IOptions<EnvFabricOptions>>().Value, baseDirectory));
        builder.Services.AddSingleton(_ => StorageAccount.FromConfiguration(configuration));

        if (string.IsNullOrEmpty(configuration["ASPNETCORE_URLS"]) && string.IsNullOrEmpty(configuration["urls"]))
        {
            var (setting, text) = configuration["PORT"] is { Length: > 0 } env ? ("PORT", env) : ("Host.LocalHttpPort", configuration["Host:LocalHttpPort"]);
            var port = string.IsNullOrEmpty(text) ? DefaultPort : (int)SettingValue.Parse("Setting " + setting, text, typeof(int))!;
            if (port is < 1 or > 65535)
            {
                throw new InvalidSettingException($"Setting {setting}: '{text}' is out of range (use 1 to 65535)");
            }

            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        }

        builder.Services.Configure<JsonOptions>(o =>
        {
            // The seeds' JSON is snake_case throughout.
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DictionaryKeyPolicy = null;
        });
        builder.Services.AddExceptionHandler<GlobalExceptionHandler>();
        builder.Services.AddProblemDetails();
        builder.Services.AddFunctionsHealth();
        return builder;
    }

    public static WebApplication UseFunctionsHost(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            if (http.Response.ContentLength is null && string.IsNullOrEmpty(http.Response.ContentType))
            {
                var status = http.Response.StatusCode;
                var message = status switch
                {
                    StatusCodes.Status404NotFound => "Not found",
                    StatusCodes.Status405MethodNotAllowed => "Method not allowed",
                    _ => "Request failed",
                };
                await ErrorBodies.ForPath(http.Request.Path, status, message, $"{http.Request.Method} {http.Request.Path}").ExecuteAsync(http);
            }
        });
        return app;
    }

    /// <summary>
    /// The group every API area maps under: host.json's <c>extensions.http.routePrefix</c> ("" here, since the
    /// seeds' routes carry their own <c>/api</c>, <c>/envs</c>, <c>/v2</c>).
    /// </summary>
    public static RouteGroupBuilder MapFunctionsRoot(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var prefix = app.Services.GetRequiredService<IOptions<HostJsonOptions>>().Value.Extensions.Http.RoutePrefix;
        return app.MapGroup(prefix.Length == 0 ? string.Empty : "/" + prefix);
    }
}
