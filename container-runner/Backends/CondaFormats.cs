using System.Text.Json;
using EnvFabric.Core.Runner;

namespace EnvFabric.Runner.Backends;

/// <summary>conda/micromamba JSON output: <c>list --json</c> and <c>search python --json</c>.</summary>
public static class CondaFormats
{
    /// <summary>Packages of <c>list -p PREFIX --json</c>: an array of objects with <c>name</c>, <c>version</c>, <c>channel</c>.</summary>
    public static IReadOnlyList<InstalledPackage> ParseList(string json)
    {
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("conda list --json did not return an array");
        }

        return document.RootElement.EnumerateArray()
            .Where(e => e.TryGetProperty("name", out _) && e.TryGetProperty("version", out _))
            .Select(e => new InstalledPackage(e.GetProperty("name").GetString()!, e.GetProperty("version").GetString()!))
            .OrderBy(p => p.Name, StringComparer.OrdinalIgnoreCase)
            .ToList();
    }

    /// <summary><c>list --json</c> with each package's channel (<c>pypi</c> for pip-installed ones).</summary>
    public static IReadOnlyList<CondaPackage> ParseListWithChannels(string json)
    {
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("conda list --json did not return an array");
        }

        return document.RootElement.EnumerateArray()
            .Where(e => e.TryGetProperty("name", out _) && e.TryGetProperty("version", out _))
            .Select(e => new CondaPackage(
                e.GetProperty("name").GetString()!,
                e.GetProperty("version").GetString()!,
                e.TryGetProperty("channel", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : ""))
            .ToList();
    }

    /// <summary>
    /// Python versions of <c>search python --json</c>: conda answers <c>{"python": [{version}...]}</c>,
    /// micromamba <c>{"result": {"pkgs": [{name, version}...]}}</c>.
    /// </summary>
    public static IReadOnlyList<string> ParseSearchVersions(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        IEnumerable<JsonElement> entries = [];
        if (root.TryGetProperty("result", out var result) && result.TryGetProperty("pkgs", out var pkgs) && pkgs.ValueKind == JsonValueKind.Array)
        {
            entries = pkgs.EnumerateArray().Where(p => p.TryGetProperty("name", out var n) && n.GetString() == "python").ToList();
        }
        else if (root.TryGetProperty("python", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            entries = list.EnumerateArray().ToList();
        }

        return entries.Where(e => e.TryGetProperty("version", out _)).Select(e => e.GetProperty("version").GetString()!).Distinct().ToList();
    }

    /// <summary>Package names of an <c>@EXPLICIT</c> lock (URLs like <c>.../numpy-1.26.4-py311h64a7726_0.conda#md5</c>).</summary>
    public static IReadOnlyList<string> ExplicitUrls(string explicitLock) =>
        (explicitLock ?? "").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith('@')).ToList();
}

/// <summary>A row of <c>conda list --json</c>.</summary>
public sealed record CondaPackage(string Name, string Version, string Channel);
