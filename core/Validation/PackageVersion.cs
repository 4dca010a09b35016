using System.Text.RegularExpressions;

namespace EnvFabric.Core.Validation;

/// <summary>
/// PEP 440 version text checks, in the forms a version specifier allows (PEP 440 "Version specifiers"):
/// wildcards only after <c>==</c>/<c>!=</c>, no local label after the ordered comparisons or <c>~=</c>,
/// at least two release segments after <c>~=</c>.
/// </summary>
public static partial class PackageVersion
{
    // The public version scheme plus the normalisations PEP 440 accepts (case, separators, "v" prefix),
    // as in packaging's VERSION_PATTERN.
    private const string Public =
        @"v?(?:[0-9]+!)?(?<release>[0-9]+(?:\.[0-9]+)*)" +
        @"(?:[-_.]?(?:alpha|a|beta|b|preview|pre|c|rc)[-_.]?[0-9]*)?" +
        @"(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?" +
        @"(?:[-_.]?dev[-_.]?[0-9]*)?";

    private const string Local = @"(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)";

    /// <summary>Whether <paramref name="text"/> is a valid PEP 440 version (public part and optional local label).</summary>
    public static bool IsValid(string? text) => text is not null && FullVersion().IsMatch(text);

    /// <summary>Checks the version that follows <paramref name="op"/>; null when valid, else why not.</summary>
    public static string? CheckForOperator(string op, string version)
    {
        ArgumentNullException.ThrowIfNull(op);
        ArgumentNullException.ThrowIfNull(version);
        if (version.Length == 0)
        {
            return $"operator '{op}' needs a version";
        }

        switch (op)
        {
            case "===":
                // Arbitrary equality compares strings; any text without whitespace or separators is allowed.
                return version.Any(c => char.IsWhiteSpace(c) || c is ',' or ';' or ')' or '(') ? $"invalid version '{version}' for '==='" : null;
            case "==":
            case "!=":
                if (EqualityVersion().IsMatch(version))
                {
                    return null;
                }

                return $"invalid version '{version}' for '{op}'";
            case "~=":
                var compatible = PublicOnly().Match(version);
                if (!compatible.Success)
                {
                    return $"invalid version '{version}' for '~=' (no wildcard or local label allowed)";
                }

                return compatible.Groups["release"].Value.Contains('.', StringComparison.Ordinal)
                    ? null
                    : $"'~={version}' needs at least two release segments, e.g. ~=1.4";
            case "<=":
            case ">=":
            case "<":
            case ">":
                return PublicOnly().IsMatch(version) ? null : $"invalid version '{version}' for '{op}' (no wildcard or local label allowed)";
            default:
                return $"unknown version operator '{op}'";
        }
    }

    [GeneratedRegex("^" + Public + Local + "?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex FullVersion();

    [GeneratedRegex("^" + Public + "$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PublicOnly();

    // "==1.2.*" (prefix match, release segments only, then ".*") or a full version with an optional local label.
    [GeneratedRegex("^(?:v?(?:[0-9]+!)?[0-9]+(?:\\.[0-9]+)*\\.\\*|" + Public + Local + "?)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex EqualityVersion();
}
