using EnvFabric.Core.Storage;
using EnvFabric.Functions.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EnvFabric.Functions.Extensions;

/// <summary>
/// Keys and sessions. Every endpoint needs a key (header <c>x-functions-key</c> or query <c>code</c>) or
/// seed 003's session cookie, through a fallback policy: endpoints are secure unless they say
/// <c>.AllowAnonymous()</c>. <c>.RequireAuthorization(AuthPolicies.Admin)</c> restricts one to admin keys.
/// </summary>
public static class AuthExtensions
{
    /// <summary>How long a session lasts without use (it slides while used).</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(12);

    public static WebApplicationBuilder AddFunctionKeys(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StorageNames>();
        services.TryAddSingleton<MasterKey>();
        services.TryAddSingleton<IKeyStore, TableKeyStore>();

        // The ring lives in the storage account, so cookies survive restarts and are valid on every instance.
        services.AddDataProtection().SetApplicationName("EnvFabric");
        services.AddOptions<KeyManagementOptions>()
            .Configure<StorageAccount, StorageNames>((o, storage, names) =>
                o.XmlRepository = new BlobXmlRepository(storage.Blobs.GetBlobContainerClient(names.Container(Core.Backup.BackupService.KeyRingContainer))));

        services.AddAuthentication(AuthPolicies.Scheme)
            .AddPolicyScheme(AuthPolicies.Scheme, "Function key or session", o =>
                o.ForwardDefaultSelector = context => FunctionKeyAuthenticationHandler.PresentedKey(context.Request) is null
                    ? AuthPolicies.SessionScheme
                    : AuthPolicies.KeyScheme)
            .AddScheme<AuthenticationSchemeOptions, FunctionKeyAuthenticationHandler>(AuthPolicies.KeyScheme, null)
            .AddCookie(AuthPolicies.SessionScheme, o =>
            {
                o.Cookie.Name = AuthPolicies.SessionCookieName;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.Cookie.IsEssential = true;
                o.ExpireTimeSpan = SessionLifetime;
                o.SlidingExpiration = true;
                o.Events.OnValidatePrincipal = ValidateSessionAsync;
            });

        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(AuthPolicies.Scheme).RequireAuthenticatedUser().Build())
            .AddPolicy(AuthPolicies.Admin, p => p.AddAuthenticationSchemes(AuthPolicies.Scheme).RequireAuthenticatedUser().RequireRole(KeyRoles.Admin));
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, AuthorizationResultHandler>();
        return builder;
    }

    /// <summary>Makes the master key exist (generated on first start) before the host answers, so ./run can print it.</summary>
    public static WebApplication UseFunctionKeys(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        _ = app.Services.GetRequiredService<MasterKey>();
        return app;
    }

    /// <summary>A session stays valid only while its key does: revoking (or re-creating) the key ends it.</summary>
    private static async Task ValidateSessionAsync(CookieValidatePrincipalContext context)
    {
        var identity = KeyIdentity.FromPrincipal(context.Principal);
        var services = context.HttpContext.RequestServices;
        bool valid;
        if (identity is null)
        {
            valid = false;
        }
        else if (identity.Name == KeyIdentity.MasterName)
        {
            valid = identity.KeyId == services.GetRequiredService<MasterKey>().KeyId;
        }
        else
        {
            var stored = await services.GetRequiredService<IKeyStore>().FindByNameAsync(identity.Name, context.HttpContext.RequestAborted);
            valid = stored is not null && stored.Identity == identity;
        }

        if (!valid)
        {
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AuthExtensions)).SessionRejected(identity?.Name ?? "(unknown)");
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(AuthPolicies.SessionScheme);
        }
    }
}
