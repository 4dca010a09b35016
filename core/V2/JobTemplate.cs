using System.Text.RegularExpressions;

namespace EnvFabric.Core.V2;

/// <summary>
/// A seed 002 task definition (<c>/v2/templates</c>): a Go <c>text/template</c> <see cref="Schema"/> rendered
/// for each task, the executor <see cref="Type"/>, and default <see cref="Extra"/> values.
/// </summary>
public sealed record JobTemplate
{
    /// <summary>Numeric id, given once at creation.</summary>
    public long Id { get; init; }

    /// <summary>Unique name (<see cref="TemplateNames"/>).</summary>
    public required string Name { get; init; }

    public string Title { get; init; } = "";

    /// <summary>The Go template source.</summary>
    public required string Schema { get; init; }

    /// <summary>The executor, one of <see cref="TemplateTypes.Known"/>.</summary>
    public required string Type { get; init; }

    /// <summary>A JSON object, the template's defaults for <c>.extra</c>.</summary>
    public string Extra { get; init; } = "{}";

    public DateTimeOffset CreateTime { get; init; }

    public DateTimeOffset UpdateTime { get; init; }

    /// <summary>Who created it (key name).</summary>
    public string? CreatedBy { get; init; }

    /// <summary>Concurrency token of the stored row.</summary>
    public string? ETag { get; init; }
}

/// <summary>The executor types: seed 002's list, plus the two this deployment runs.</summary>
public static class TemplateTypes
{
    public const string Python = "python";
    public const string Shell = "shell";

    /// <summary>Types whose tasks this deployment executes.</summary>
    public static readonly IReadOnlyList<string> Executable = [Python, Shell];

    /// <summary>Every type a template may be stored with (seed 002's, which run on Kubernetes, and ours).</summary>
    public static readonly IReadOnlyList<string> Known = [Python, Shell, "pod", "kfjob", "deployment", "crd", "agent", "prompt"];

    public static bool IsExecutable(string type) => Executable.Contains(type, StringComparer.Ordinal);
}

/// <summary>Template names: 1 to 64 letters, digits, <c>.</c>, <c>_</c> or <c>-</c>, starting with a letter or digit.</summary>
public static partial class TemplateNames
{
    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
