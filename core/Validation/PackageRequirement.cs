using System.Text;

namespace EnvFabric.Core.Validation;

/// <summary>A parsed PEP 508 dependency specification.</summary>
/// <param name="Name">The distribution name as written.</param>
/// <param name="Extras">Normalised extras, in the order written.</param>
/// <param name="Specifiers">Version specifiers (empty for "any version" and for URL requirements).</param>
/// <param name="Url">The direct reference of <c>name @ url</c>, or null.</param>
/// <param name="Marker">The environment marker after <c>;</c>, normalised to single spaces, or null.</param>
public sealed record PackageRequirement(
    string Name,
    IReadOnlyList<string> Extras,
    IReadOnlyList<VersionSpecifier> Specifiers,
    string? Url,
    string? Marker)
{
    /// <summary>The PEP 503 normalised name (lower case, runs of <c>-_.</c> become one <c>-</c>).</summary>
    public string NormalizedName => PackageSpec.NormalizeName(Name);

    /// <summary>
    /// The canonical text of the requirement, safe to hand to pip/uv as one argument: the validated parts
    /// re-joined without the caller's whitespace.
    /// </summary>
    public override string ToString()
    {
        var text = new StringBuilder(Name);
        if (Extras.Count > 0)
        {
            text.Append('[').AppendJoin(',', Extras).Append(']');
        }

        if (Url is not null)
        {
            text.Append(" @ ").Append(Url);
            if (Marker is not null)
            {
                text.Append(' ');
            }
        }
        else
        {
            text.AppendJoin(',', Specifiers);
        }

        if (Marker is not null)
        {
            text.Append("; ").Append(Marker);
        }

        return text.ToString();
    }
}

/// <summary>One version clause such as <c>&gt;=1.24.0</c> or <c>==2.*</c>.</summary>
/// <param name="Operator">One of <c>~= == != &lt;= &gt;= &lt; &gt; ===</c>.</param>
/// <param name="Version">The version text after the operator.</param>
public sealed record VersionSpecifier(string Operator, string Version)
{
    /// <inheritdoc />
    public override string ToString() => Operator + Version;
}

/// <summary>The outcome of validating one spec: the requirement, or a message saying what is wrong.</summary>
/// <param name="Input">The text as given.</param>
/// <param name="Requirement">The parsed requirement when valid.</param>
/// <param name="Error">Why it was refused, when not valid.</param>
public sealed record PackageSpecResult(string? Input, PackageRequirement? Requirement, string? Error)
{
    /// <summary>True when <see cref="Requirement"/> is set.</summary>
    public bool IsValid => Requirement is not null;
}

/// <summary>Options for <see cref="PackageSpec.Parse(string?, PackageSpecOptions?)"/>.</summary>
public sealed record PackageSpecOptions
{
    /// <summary>Default options: no direct URL references, 1 KB per spec.</summary>
    public static PackageSpecOptions Default { get; } = new();

    /// <summary>Whether <c>name @ url</c> is accepted (http, https and file URLs only).</summary>
    public bool AllowDirectUrls { get; init; }

    /// <summary>Longest accepted spec, in characters.</summary>
    public int MaxLength { get; init; } = PackageSpec.MaxLength;
}
