using System.Security.Claims;
using EnvFabric.Functions.Http;

namespace EnvFabric.Functions.Auth;

/// <summary>
/// Who may act on an object of a namespace: admin keys (and the master key) everywhere, user keys only in
/// their own namespace. Objects without a namespace belong to <see cref="DefaultNamespace"/>.
/// </summary>
public static class NamespaceAccess
{
    /// <summary>The namespace of objects created without one, and of user keys created without one.</summary>
    public const string DefaultNamespace = "default";

    /// <summary>Seed 003's 403 message.</summary>
    public const string ForbiddenMessage = "Unauthorized - Insufficient privileges";

    public static bool IsAdmin(ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return principal.Identity?.IsAuthenticated == true && principal.IsInRole(KeyRoles.Admin);
    }

    /// <summary>The principal's key name (<c>master</c> for the master key), or null when anonymous.</summary>
    public static string? KeyNameOf(ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return principal.Identity?.IsAuthenticated == true ? principal.FindFirst(AuthClaims.KeyName)?.Value : null;
    }

    /// <summary>The principal's own namespace, or null when anonymous.</summary>
    public static string? NamespaceOf(ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return principal.Identity?.IsAuthenticated == true ? principal.FindFirst(AuthClaims.Namespace)?.Value : null;
    }

    /// <summary>May <paramref name="principal"/> read or change an object that lives in <paramref name="objectNamespace"/>?</summary>
    public static bool CanAct(ClaimsPrincipal principal, string? objectNamespace)
    {
        ArgumentNullException.ThrowIfNull(principal);
        if (principal.Identity?.IsAuthenticated != true)
        {
            return false;
        }

        if (principal.IsInRole(KeyRoles.Admin))
        {
            return true;
        }

        var own = principal.FindFirst(AuthClaims.Namespace)?.Value;
        return own is not null && string.Equals(own, Normalize(objectNamespace), StringComparison.Ordinal);
    }

    /// <summary>
    /// The namespace to stamp on a new object: the requested one if the principal may act there, else null
    /// (answer 403). A user key that names none gets its own; an admin that names none gets the default.
    /// </summary>
    public static string? NamespaceForNew(ClaimsPrincipal principal, string? requested)
    {
        ArgumentNullException.ThrowIfNull(principal);
        if (string.IsNullOrEmpty(requested))
        {
            return IsAdmin(principal) ? DefaultNamespace : NamespaceOf(principal);
        }

        return CanAct(principal, requested) ? requested : null;
    }

    /// <summary>Seed 003's 403 in the request's own dialect; <paramref name="error"/> says what was refused.</summary>
    public static IResult Forbidden(HttpContext context, string error)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ErrorBodies.ForPath(context.Request.Path, StatusCodes.Status403Forbidden, ForbiddenMessage, error);
    }

    private static string Normalize(string? ns) => string.IsNullOrEmpty(ns) ? DefaultNamespace : ns;
}
