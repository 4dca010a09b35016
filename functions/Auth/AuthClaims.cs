using System.Security.Claims;

namespace EnvFabric.Functions.Auth;

/// <summary>Claim types carried by every authenticated principal (from a key or a session cookie).</summary>
public static class AuthClaims
{
    /// <summary>The key's name; <c>master</c> for the master key.</summary>
    public const string KeyName = "envfabric/key";

    /// <summary>The namespace the key may act in (user keys); admins act everywhere.</summary>
    public const string Namespace = "envfabric/namespace";

    /// <summary>Identifies one issue of a key, so a session dies when its key is revoked or re-created.</summary>
    public const string KeyId = "envfabric/key-id";

    /// <summary>The role claim: <see cref="KeyRoles.Admin"/> or <see cref="KeyRoles.User"/>.</summary>
    public const string Role = ClaimTypes.Role;
}

/// <summary>The two roles a key can have.</summary>
public static class KeyRoles
{
    public const string Admin = "admin";
    public const string User = "user";

    public static bool IsValid(string? role) => role is Admin or User;
}

/// <summary>Authorization policy and scheme names.</summary>
public static class AuthPolicies
{
    /// <summary>Requires an admin key (or the master key, or a session opened with one).</summary>
    public const string Admin = "admin";

    /// <summary>The scheme that picks the key or the session cookie.</summary>
    public const string Scheme = "EnvFabric";

    /// <summary>The <c>x-functions-key</c> header or <c>code</c> query.</summary>
    public const string KeyScheme = "FunctionKey";

    /// <summary>The seed 003 session cookie set by <c>POST /api/auth/login</c>.</summary>
    public const string SessionScheme = "Session";

    /// <summary>Seed 003: <c>Cookie: session=&lt;id&gt;</c>.</summary>
    public const string SessionCookieName = "session";

    public const string KeyHeader = "x-functions-key";

    public const string KeyQuery = "code";
}

/// <summary>Who a key is: what the principal's claims are built from.</summary>
public sealed record KeyIdentity(string Name, string Role, string Namespace, string KeyId)
{
    public const string MasterName = "master";

    public ClaimsPrincipal ToPrincipal(string authenticationType) =>
        new(new ClaimsIdentity(
            [
                new Claim(AuthClaims.KeyName, Name),
                new Claim(ClaimTypes.Name, Name),
                new Claim(AuthClaims.Role, Role),
                new Claim(AuthClaims.Namespace, Namespace),
                new Claim(AuthClaims.KeyId, KeyId),
            ],
            authenticationType,
            ClaimTypes.Name,
            AuthClaims.Role));

    public static KeyIdentity? FromPrincipal(ClaimsPrincipal? principal)
    {
        if (principal?.Identity?.IsAuthenticated != true)
        {
            return null;
        }

        var name = principal.FindFirst(AuthClaims.KeyName)?.Value;
        var role = principal.FindFirst(AuthClaims.Role)?.Value;
        var ns = principal.FindFirst(AuthClaims.Namespace)?.Value;
        var id = principal.FindFirst(AuthClaims.KeyId)?.Value;
        return name is null || role is null || ns is null || id is null ? null : new KeyIdentity(name, role, ns, id);
    }
}
