using EnvFabric.Activities.Tasks;
using EnvFabric.Core.Audit;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>A namespace's callback signing secret and how to check a signature with it.</summary>
public sealed record CallbackSecretView(string Namespace, string Secret, string Header, string Algorithm)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public bool Success => true;
}

/// <summary>The services of the callback-secret routes.</summary>
public sealed class CallbackSecretServices
{
    public required HttpContext Context { get; init; }

    [FromServices]
    public required CallbackSecrets Secrets { get; init; }

    [FromServices]
    public required IAuditLog AuditTrail { get; init; }

    [FromServices]
    public required TimeProvider Now { get; init; }
}

/// <summary>
/// The secret that signs a namespace's completion callbacks: read it to verify <c>X-EnvFabric-Signature</c>, or
/// rotate it. A <c>user</c> key reaches its own namespace's only; reads and rotations are audited.
/// </summary>
public static class CallbackFunctions
{
    public static RouteGroupBuilder MapCallbackFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/api/settings/callback-secret").WithTags("Callbacks");
        group.MapGet("", GetSecret).WithSummary("The namespace's callback signing secret");
        group.MapPost("/rotate", RotateSecret).WithSummary("Replace the namespace's callback signing secret");
        return group;
    }

    public static async Task<IResult> GetSecret(string? @namespace, [AsParameters] CallbackSecretServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var ns = Target(s, @namespace);
        if (Refuse(s, ns) is { } refused)
        {
            return refused;
        }

        var secret = await s.Secrets.GetAsync(ns, s.Context.RequestAborted);
        await s.AuditTrail.WriteQuietlyAsync(s.Context, s.Now, "callback-secret.read", ns, new { @namespace = ns });
        return TypedResults.Ok(View(ns, secret));
    }

    public static async Task<IResult> RotateSecret(string? @namespace, [AsParameters] CallbackSecretServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var ns = Target(s, @namespace);
        if (Refuse(s, ns) is { } refused)
        {
            return refused;
        }

        var secret = await s.Secrets.RotateAsync(ns, s.Context.RequestAborted);
        await s.AuditTrail.WriteQuietlyAsync(s.Context, s.Now, "callback-secret.rotate", ns, new { @namespace = ns });
        return TypedResults.Ok(View(ns, secret));
    }

    private static IResult? Refuse(CallbackSecretServices s, string ns) =>
        NamespaceAccess.CanAct(s.Context.User, ns) ? null : NamespaceAccess.Forbidden(s.Context, $"You do not have access to namespace '{ns}'");

    private static string Target(CallbackSecretServices s, string? requested) =>
        requested is { Length: > 0 } ? requested : NamespaceAccess.NamespaceOf(s.Context.User) ?? NamespaceAccess.DefaultNamespace;

    private static CallbackSecretView View(string ns, string secret) => new(ns, secret, SendCallbackActivity.SignatureHeader, "sha256=HMAC-SHA256(key = the secret's UTF-8 bytes, message = the raw request body), hex");
}
