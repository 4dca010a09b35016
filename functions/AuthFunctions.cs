using System.Text.Json.Serialization;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>
/// Seed 003's cookie session: <c>POST /api/auth/login</c> exchanges a key for an HttpOnly, SameSite=Strict
/// <c>session</c> cookie that is accepted in place of the key; <c>POST /api/auth/logout</c> ends it.
/// </summary>
public static class AuthFunctions
{
    public static IEndpointRouteBuilder MapAuthFunctions(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var group = app.MapGroup("/api/auth").WithTags("Auth");
        group.MapPost("/login", Login)
            .AllowAnonymous()
            .Produces<CondaError>(StatusCodes.Status401Unauthorized)
            .WithName("Login")
            .WithSummary("Opens a session: the key in the body ({\"key\": ...}), the x-functions-key header or the code query.");
        group.MapPost("/logout", (Delegate)Logout)
            .AllowAnonymous()
            .WithName("Logout")
            .WithSummary("Ends the session and clears its cookie.");
        group.MapGet("/session", Session)
            .AllowAnonymous()
            .WithName("Session")
            .WithSummary("Whether this request carries a valid key or session (200 either way), and whose; the web console asks this on load.");
        group.MapGet("/me", Me)
            .WithName("WhoAmI")
            .WithSummary("The key behind this request: name, role, namespace.");
        return app;
    }

    public static async Task<Results<Ok<SessionResponse>, JsonHttpResult<CondaError>>> Login(
        [FromBody] LoginRequest? request,
        HttpContext context,
        MasterKey master,
        IKeyStore keys,
        ILogger<LoginRequest> logger)
    {
        ArgumentNullException.ThrowIfNull(context);
        var secret = string.IsNullOrEmpty(request?.Key) ? FunctionKeyAuthenticationHandler.PresentedKey(context.Request) : request.Key;
        if (secret is null)
        {
            return ErrorBodies.Conda(StatusCodes.Status401Unauthorized, AuthorizationResultHandler.AuthenticationRequired, "Send a key as {\"key\": \"...\"}, in the x-functions-key header or the code query");
        }

        var identity = await FunctionKeyAuthenticationHandler.ResolveAsync(secret, master, keys, context.RequestAborted);
        if (identity is null)
        {
            return ErrorBodies.Conda(StatusCodes.Status401Unauthorized, AuthorizationResultHandler.AuthenticationRequired, FunctionKeyAuthenticationHandler.InvalidKeyMessage);
        }

        await context.SignInAsync(AuthPolicies.SessionScheme, identity.ToPrincipal(AuthPolicies.SessionScheme));
        logger.SessionOpened(identity.Name);
        return TypedResults.Ok(new SessionResponse("Login successful", SessionUser.From(identity)));
    }

    public static async Task<Ok<SessionResponse>> Logout(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await context.SignOutAsync(AuthPolicies.SessionScheme);
        return TypedResults.Ok(new SessionResponse("Logout successful", null));
    }

    public static Results<Ok<SessionResponse>, JsonHttpResult<CondaError>> Me(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var identity = KeyIdentity.FromPrincipal(context.User);
        return identity is null
            ? ErrorBodies.Conda(StatusCodes.Status401Unauthorized, AuthorizationResultHandler.AuthenticationRequired, AuthorizationResultHandler.PleaseLogIn)
            : TypedResults.Ok(new SessionResponse("Authenticated", SessionUser.From(identity)));
    }

    public static Ok<SessionState> Session(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var identity = KeyIdentity.FromPrincipal(context.User);
        return TypedResults.Ok(identity is null
            ? new SessionState("Not signed in", false, null)
            : new SessionState("Authenticated", true, SessionUser.From(identity)));
    }

    public sealed record LoginRequest(string? Key);

    public sealed record SessionState(string Message, bool Authenticated, SessionUser? User);

    public sealed record SessionResponse(string Message, SessionUser? User)
    {
        [JsonPropertyOrder(-1)]
        public bool Success => true;
    }

    public sealed record SessionUser(string KeyName, string Role, string Namespace)
    {
        public static SessionUser From(KeyIdentity identity) => new(identity.Name, identity.Role, identity.Namespace);
    }
}
