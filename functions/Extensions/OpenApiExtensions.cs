using EnvFabric.Functions.Auth;
using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace EnvFabric.Functions.Extensions;

/// <summary>
/// The OpenAPI document of every minimal-API route at <c>/openapi/v1.json</c>, with the function key
/// (header or query) and the session cookie as security schemes, and a reference page at <c>/scalar</c>.
/// Both are anonymous so the reference can be browsed; trying a call there asks for a key.
/// </summary>
public static class OpenApiExtensions
{
    public const string HeaderScheme = "functionKey";
    public const string QueryScheme = "functionKeyQuery";
    public const string CookieScheme = "session";

    public static WebApplicationBuilder AddFunctionsOpenApi(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "EnvFabric";
                document.Info.Description =
                    "Python environments and scheduled scripts over four API dialects: /api/conda, /api/tasks, /envs and /v2. " +
                    "Every route but /api/health needs a key (x-functions-key header or code query) or a session cookie from POST /api/auth/login.";
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[HeaderScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = AuthPolicies.KeyHeader,
                    Description = "The master key or a named key.",
                };
                document.Components.SecuritySchemes[QueryScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Query,
                    Name = AuthPolicies.KeyQuery,
                    Description = "The same key as a query parameter.",
                };
                document.Components.SecuritySchemes[CookieScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Cookie,
                    Name = AuthPolicies.SessionCookieName,
                    Description = "Session cookie set by POST /api/auth/login.",
                };
                return Task.CompletedTask;
            });
            o.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                if (metadata.OfType<IAllowAnonymous>().Any())
                {
                    return Task.CompletedTask;
                }

                // What the auth and limit middleware may answer before the handler runs, in the route's error format.
                operation.Responses ??= new OpenApiResponses();
                operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No key or session, or a key that is not valid" });
                operation.Responses.TryAdd("429", new OpenApiResponse { Description = "Over the key's requests per minute (see Retry-After), or the host is at maxConcurrentRequests" });
                if (metadata.OfType<IAuthorizeData>().Any(a => a.Policy == AuthPolicies.Admin))
                {
                    operation.Responses.TryAdd("403", new OpenApiResponse { Description = "The key is not an admin key" });
                }

                // Any one of the three will do: one requirement object per alternative.
                operation.Security =
                [
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(HeaderScheme, context.Document)] = [] },
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(QueryScheme, context.Document)] = [] },
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(CookieScheme, context.Document)] = [] },
                ];
                return Task.CompletedTask;
            });
        });
        return builder;
    }

    public static WebApplication MapOpenApiFunctions(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference("/scalar", o => o
                .WithTitle("EnvFabric API")
                .AddPreferredSecuritySchemes([HeaderScheme]))
            .AllowAnonymous();
        return app;
    }
}
