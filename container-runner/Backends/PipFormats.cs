using System.Text.Json;
using System.Text.RegularExpressions;
using EnvFabric.Core.Runner;

namespace EnvFabric.Runner.Backends;

/// <summary>pip's output: <c>pip list --format json</c>, <c>pip freeze</c>, and its resolution errors.</summary>
public static partial class PipFormats
{
    public static IReadOnlyList<InstalledPackage> ParseList(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateArray()
            .Select(e => new InstalledPackage(e.GetProperty("name").GetString()!, e.GetProperty("version").GetString()!))
            .OrderBy(p => p.Name, StringComparer.OrdinalIgnoreCase)
            .ToList();
    }

    /// <summary>
    /// The requirements pip could not satisfy, from "No matching distribution found for X" and
    /// "Could not find a version that satisfies the requirement X" lines.
    /// </summary>
    public static IReadOnlyList<string> UnsatisfiedRequirements(string stderr) =>
        NotFound().Matches(stderr ?? "").Select(m => m.Groups["req"].Value.Trim()).Distinct().ToList();

    /// <summary>The <c>ERROR:</c> lines of pip's output, joined; the whole tail when there are none.</summary>
    public static string ErrorText(string stderr)
    {
        var lines = (stderr ?? "").Split('\n').Select(l => l.TrimEnd()).Where(l => l.StartsWith("ERROR:", StringComparison.Ordinal)).ToList();
        return lines.Count > 0 ? string.Join("\n", lines) : string.Join("\n", (stderr ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(5));
    }

    [GeneratedRegex(@"(?:No matching distribution found for|Could not find a version that satisfies the requirement) (?<req>[^\s(][^(\r\n]*)")]
    private static partial Regex NotFound();
}
