using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions.Auth;

/// <summary>
/// Functions-style keys: <c>x-functions-key</c> header or <c>code</c> query. The master key is an admin;
/// named keys carry their own role and namespace. No key is "no result" (the session cookie may still
/// authenticate); a wrong key fails.
/// </summary>
public sealed class FunctionKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    MasterKey master,
    IKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string InvalidKeyMessage = "The function key is not valid";

    /// <summary>The key presented with the request, header first, or null.</summary>
    public static string? PresentedKey(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var header = request.Headers[AuthPolicies.KeyHeader].ToString();
        if (!string.IsNullOrEmpty(header))
        {
            return header;
        }

        var query = request.Query[AuthPolicies.KeyQuery].ToString();
        return string.IsNullOrEmpty(query) ? null : query;
    }

    /// <summary>Who <paramref name="secret"/> belongs to: the master key or a named key, else null.</summary>
    public static async Task<KeyIdentity?> ResolveAsync(string secret, MasterKey master, IKeyStore keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(master);
        ArgumentNullException.ThrowIfNull(keys);
        if (master.Matches(secret))
        {
            return master.Identity;
        }

        return (await keys.FindBySecretAsync(secret, cancellationToken))?.Identity;
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = PresentedKey(Request);
        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }

        var identity = await ResolveAsync(presented, master, keys, Context.RequestAborted);
        return identity is null
            ? AuthenticateResult.Fail(InvalidKeyMessage)
            : AuthenticateResult.Success(new AuthenticationTicket(identity.ToPrincipal(Scheme.Name), Scheme.Name));
    }
}
