using System.Net;
using System.Net.Sockets;

namespace EnvFabric.Core.Tasks;

/// <summary>
/// Which addresses completion callbacks may reach. Public addresses always; loopback when
/// <see cref="AllowLoopback"/> (local runs); private, link-local (the cloud metadata endpoint among them),
/// carrier-grade NAT, unique-local and unspecified addresses only when <see cref="AllowPrivate"/>.
/// </summary>
public sealed record CallbackAddressPolicy(bool AllowPrivate = false, bool AllowLoopback = true)
{
    /// <summary>Why <paramref name="address"/> is refused, or null when a callback may reach it.</summary>
    public string? Refusal(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return AllowLoopback ? null : $"{address} is a loopback address (CALLBACK_ALLOW_LOOPBACK is false)";
        }

        return IsPrivate(address) && !AllowPrivate ? $"{address} is a private or link-local address (CALLBACK_ALLOW_PRIVATE is false)" : null;
    }

    private static bool IsPrivate(IPAddress address)
    {
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.None))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] == 10
                || b[0] == 0
                || (b[0] == 172 && b[1] is >= 16 and <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 100 && b[1] is >= 64 and <= 127)
                || b[0] >= 224;
        }

        var v6 = address.GetAddressBytes();
        return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (v6[0] & 0xFE) == 0xFC;
    }
}

/// <summary>Checks a callback URL when a task is submitted.</summary>
public static class CallbackUrls
{
    /// <summary>Longest URL accepted.</summary>
    public const int MaxLength = 2048;

    /// <summary>
    /// Why <paramref name="url"/> cannot be a callback (not absolute http/https, credentials in it, a host that
    /// does not resolve or resolves to a refused address), or null when it can.
    /// </summary>
    public static async Task<string?> RefusalAsync(string url, CallbackAddressPolicy policy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(policy);
        if (url.Length > MaxLength)
        {
            return $"callback URL is longer than {MaxLength} characters";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return $"callback URL '{url}' must be an absolute http or https URL";
        }

        if (uri.UserInfo.Length > 0)
        {
            return "callback URL must not carry credentials";
        }

        IPAddress[] addresses;
        if (IPAddress.TryParse(uri.IdnHost, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(uri.IdnHost, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                return $"callback host '{uri.Host}' does not resolve: {ex.Message}";
            }
        }

        if (addresses.Length == 0)
        {
            return $"callback host '{uri.Host}' does not resolve";
        }

        return addresses.Select(policy.Refusal).FirstOrDefault(r => r is not null) is { } refusal ? "callback URL refused: " + refusal : null;
    }
}
