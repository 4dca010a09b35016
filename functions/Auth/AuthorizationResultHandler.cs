using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace EnvFabric.Functions.Auth;

/// <summary>
/// Writes seed 003's 401 and 403 bodies (in the request's own dialect) instead of challenging a scheme,
/// which would redirect to a login page for the cookie scheme.
/// </summary>
public sealed class AuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    public const string AuthenticationRequired = "Authentication required";
    public const string PleaseLogIn = "Please log in to perform this operation";

    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(authorizeResult);
        if (authorizeResult.Challenged)
        {
            var detail = FunctionKeyAuthenticationHandler.PresentedKey(context.Request) is null
                ? PleaseLogIn
                : FunctionKeyAuthenticationHandler.InvalidKeyMessage;
            context.Response.Headers.WWWAuthenticate = AuthPolicies.KeyScheme;
            await ErrorBodies.ForPath(context.Request.Path, StatusCodes.Status401Unauthorized, AuthenticationRequired, detail).ExecuteAsync(context);
            return;
        }

        if (authorizeResult.Forbidden)
        {
            var detail = policy?.Requirements.OfType<Microsoft.AspNetCore.Authorization.Infrastructure.RolesAuthorizationRequirement>().Any() == true
                ? "This operation requires an admin key"
                : "This key may not perform this operation";
            await NamespaceAccess.Forbidden(context, detail).ExecuteAsync(context);
            return;
        }

        await _default.HandleAsync(next, context, policy!, authorizeResult);
    }
}
