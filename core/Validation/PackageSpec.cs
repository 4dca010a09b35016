using System.Text;

namespace EnvFabric.Core.Validation;

/// <summary>
/// Validates package specs as PEP 508 dependency specifications before they reach pip, uv or conda
/// (as argument-vector entries, never through a shell). Anything outside the grammar is refused:
/// option-like text (<c>--index-url</c>), control characters, non-ASCII text, over-long input, and
/// markers that are not PEP 508 marker expressions (so <c>numpy; rm -rf /</c> fails).
/// </summary>
public static class PackageSpec
{
    /// <summary>Longest spec accepted by default (1 KB).</summary>
    public const int MaxLength = 1024;

    /// <summary>Most specs accepted in one request.</summary>
    public const int MaxCount = 500;

    /// <summary>The marker variables of PEP 508 (plus <c>extra</c>, defined by a containing layer).</summary>
    public static readonly IReadOnlySet<string> MarkerVariables = new HashSet<string>(StringComparer.Ordinal)
    {
        "python_version", "python_full_version", "os_name", "sys_platform", "platform_release",
        "platform_system", "platform_version", "platform_machine", "platform_python_implementation",
        "implementation_name", "implementation_version", "extra",
    };

    /// <summary>PEP 503 name normalisation: lower case, each run of <c>-</c>, <c>_</c>, <c>.</c> becomes <c>-</c>.</summary>
    public static string NormalizeName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var text = new StringBuilder(name.Length);
        var inRun = false;
        foreach (var c in name)
        {
            if (c is '-' or '_' or '.')
            {
                if (!inRun)
                {
                    text.Append('-');
                }

                inRun = true;
                continue;
            }

            inRun = false;
            text.Append(char.ToLowerInvariant(c));
        }

        return text.ToString();
    }

    /// <summary>Whether <paramref name="name"/> is a valid distribution name (PEP 508 <c>identifier</c>).</summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 200)
        {
            return false;
        }

        if (!char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1]))
        {
            return false;
        }

        return name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
    }

    /// <summary>Parses one spec; never throws for bad input.</summary>
    public static PackageSpecResult Parse(string? spec, PackageSpecOptions? options = null)
    {
        options ??= PackageSpecOptions.Default;
        var error = Precheck(spec, options.MaxLength);
        if (error is not null)
        {
            return new PackageSpecResult(spec, null, error);
        }

        try
        {
            var requirement = new RequirementParser(spec!, options.AllowDirectUrls).ParseRequirement();
            return new PackageSpecResult(spec, requirement, null);
        }
        catch (FormatException ex)
        {
            return new PackageSpecResult(spec, null, $"'{Shorten(spec!)}': {ex.Message}");
        }
    }

    /// <summary>Parses one spec into <paramref name="requirement"/>, or gives the reason in <paramref name="error"/>.</summary>
    public static bool TryParse(string? spec, out PackageRequirement? requirement, out string? error, PackageSpecOptions? options = null)
    {
        var result = Parse(spec, options);
        requirement = result.Requirement;
        error = result.Error;
        return result.IsValid;
    }

    /// <summary>
    /// Validates a list of specs (all or nothing): the requirements when every one is valid, else every
    /// error found. Duplicate names (after normalisation) are refused, as pip would refuse them.
    /// </summary>
    public static PackageListResult ParseAll(IEnumerable<string?>? specs, PackageSpecOptions? options = null, bool allowEmpty = true)
    {
        var list = specs?.ToList() ?? [];
        if (list.Count == 0)
        {
            return allowEmpty ? new PackageListResult([], []) : new PackageListResult([], ["packages must list at least one package"]);
        }

        if (list.Count > MaxCount)
        {
            return new PackageListResult([], [$"at most {MaxCount} packages per request (got {list.Count})"]);
        }

        var requirements = new List<PackageRequirement>(list.Count);
        var errors = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var spec in list)
        {
            var result = Parse(spec, options);
            if (result.Requirement is { } requirement)
            {
                if (!seen.Add(requirement.NormalizedName))
                {
                    errors.Add($"'{requirement.Name}' is listed more than once");
                }

                requirements.Add(requirement);
            }
            else
            {
                errors.Add(result.Error!);
            }
        }

        return errors.Count == 0 ? new PackageListResult(requirements, []) : new PackageListResult([], errors);
    }

    /// <summary>
    /// Validates a list of bare package names (for removal): each must be a distribution name only,
    /// without version, extras or markers.
    /// </summary>
    public static PackageListResult ParseNames(IEnumerable<string?>? names)
    {
        var list = names?.ToList() ?? [];
        if (list.Count == 0)
        {
            return new PackageListResult([], ["packages must list at least one package name"]);
        }

        if (list.Count > MaxCount)
        {
            return new PackageListResult([], [$"at most {MaxCount} packages per request (got {list.Count})"]);
        }

        var errors = new List<string>();
        var requirements = new List<PackageRequirement>();
        foreach (var name in list)
        {
            var trimmed = name?.Trim();
            if (Precheck(name, MaxLength) is { } error)
            {
                errors.Add(error);
            }
            else if (!IsValidName(trimmed))
            {
                errors.Add($"'{Shorten(name!)}' is not a package name (letters, digits, '-', '_', '.'; no version or options)");
            }
            else
            {
                requirements.Add(new PackageRequirement(trimmed!, [], [], null, null));
            }
        }

        return errors.Count == 0 ? new PackageListResult(requirements, []) : new PackageListResult([], errors);
    }

    private static string? Precheck(string? spec, int maxLength)
    {
        if (spec is null || string.IsNullOrWhiteSpace(spec))
        {
            return "a package spec must not be empty";
        }

        if (spec.Length > maxLength)
        {
            return $"a package spec must be at most {maxLength} characters (got {spec.Length})";
        }

        foreach (var c in spec)
        {
            if (char.IsControl(c))
            {
                return $"'{Shorten(spec)}' contains a control character (U+{(int)c:X4})";
            }

            if (c > '\u007e')
            {
                return $"'{Shorten(spec)}' contains a non-ASCII character";
            }
        }

        if (spec.TrimStart().StartsWith('-'))
        {
            return $"'{Shorten(spec)}' looks like a command-line option; only package requirements are accepted";
        }

        return null;
    }

    internal static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";
}

/// <summary>The outcome of validating a list of specs: every requirement, or every error.</summary>
/// <param name="Requirements">The parsed requirements (empty when any spec failed).</param>
/// <param name="Errors">One message per refused spec.</param>
public sealed record PackageListResult(IReadOnlyList<PackageRequirement> Requirements, IReadOnlyList<string> Errors)
{
    /// <summary>True when no spec failed.</summary>
    public bool IsValid => Errors.Count == 0;

    /// <summary>The errors as one message.</summary>
    public string ErrorMessage => string.Join("; ", Errors);
}
