using System.Globalization;

namespace EnvFabric.Core.Runner;

/// <summary>
/// Where environment jobs get packages from, set through <c>PUT /api/settings/package-index</c>. When a job carries
/// one, it replaces the runner's PIP_INDEX_URL, PIP_FIND_LINKS and PIP_NO_INDEX for that job entirely.
/// </summary>
public sealed record PackageIndex
{
    /// <summary>The primary index (pip's <c>--index-url</c>, uv's <c>--index-url</c>); null keeps the tool's default (PyPI).</summary>
    public string? IndexUrl { get; init; }

    /// <summary>More indexes searched too (<c>--extra-index-url</c>).</summary>
    public IReadOnlyList<string> ExtraIndexUrls { get; init; } = [];

    /// <summary>Pages or directories of wheels and sdists (<c>--find-links</c>): http(s) URLs, file:// URLs or absolute directories.</summary>
    public IReadOnlyList<string> FindLinks { get; init; } = [];

    /// <summary>Hosts (host or host:port) trusted without valid HTTPS (pip's <c>--trusted-host</c>, uv's <c>--allow-insecure-host</c>).</summary>
    public IReadOnlyList<string> TrustedHosts { get; init; } = [];

    /// <summary>No index at all: only <see cref="FindLinks"/> (<c>--no-index</c>).</summary>
    public bool NoIndex { get; init; }

    /// <summary>Whether it says nothing (the runner's own settings then apply).</summary>
    public bool IsEmpty => IndexUrl is null && ExtraIndexUrls.Count == 0 && FindLinks.Count == 0 && TrustedHosts.Count == 0 && !NoIndex;
}

/// <summary>What a <see cref="PackageIndex"/> may hold.</summary>
public static class PackageIndexRules
{
    /// <summary>Most entries in each list.</summary>
    public const int MaxEntries = 20;

    /// <summary>Longest URL, path or host.</summary>
    public const int MaxLength = 2048;

    /// <summary>Null when <paramref name="index"/> is valid, else the field and why.</summary>
    public static string? Problem(PackageIndex index)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (index.IndexUrl is { } url && !IsHttpUrl(url))
        {
            return $"index_url must be an absolute http or https URL (was '{url}')";
        }

        foreach (var (field, list) in new[] { ("extra_index_urls", index.ExtraIndexUrls), ("find_links", index.FindLinks), ("trusted_hosts", index.TrustedHosts) })
        {
            if (list.Count > MaxEntries)
            {
                return $"{field} may hold at most {MaxEntries} entries";
            }
        }

        if (index.ExtraIndexUrls.FirstOrDefault(u => !IsHttpUrl(u)) is { } extra)
        {
            return $"extra_index_urls must be absolute http or https URLs (was '{extra}')";
        }

        if (index.FindLinks.FirstOrDefault(l => !IsFindLink(l)) is { } link)
        {
            return $"find_links must be http or https URLs, file:// URLs or absolute directory paths (was '{link}')";
        }

        if (index.TrustedHosts.FirstOrDefault(h => !IsHost(h)) is { } host)
        {
            return $"trusted_hosts must be host names or addresses, optionally with :port (was '{host}')";
        }

        return null;
    }

    private static bool Clean(string? text) =>
        !string.IsNullOrWhiteSpace(text) && text.Length <= MaxLength && !text.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)) && !text.StartsWith('-');

    private static bool IsHttpUrl(string? text) =>
        Clean(text) && Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0;

    private static bool IsFindLink(string? text)
    {
        if (!Clean(text))
        {
            return false;
        }

        if (text!.StartsWith('/'))
        {
            // An absolute directory: no '..' segment, so it means what it says.
            return !text.Split('/').Contains("..");
        }

        return IsHttpUrl(text)
            || (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeFile && uri.AbsolutePath.StartsWith('/') && !uri.AbsolutePath.Split('/').Contains(".."));
    }

    private static bool IsHost(string? text)
    {
        if (!Clean(text))
        {
            return false;
        }

        var host = text!;
        var colon = host.LastIndexOf(':');
        if (colon >= 0 && !host.EndsWith(']'))
        {
            if (!int.TryParse(host.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                return false;
            }

            host = host[..colon];
        }

        return Uri.CheckHostName(host.Trim('[', ']')) != UriHostNameType.Unknown;
    }
}
