using System.Text.Json;
using EnvFabric.Core.Runner;
using Tomlyn;
using Tomlyn.Model;

namespace EnvFabric.Runner.Backends;

/// <summary>uv's file formats: <c>uv.lock</c> and <c>pyproject.toml</c> (TOML), <c>uv python list --output-format json</c>.</summary>
public static class UvFormats
{
    /// <summary>The locked packages of a <c>uv.lock</c>, without the project itself (source virtual/editable ".").</summary>
    public static IReadOnlyList<InstalledPackage> ParseLockPackages(string uvLock)
    {
        var model = ParseToml(uvLock);
        var packages = new List<InstalledPackage>();
        if (!model.TryGetValue("package", out var value) || value is not TomlTableArray array)
        {
            return packages;
        }

        foreach (TomlTable package in array)
        {
            if (package.TryGetValue("source", out var s) && s is TomlTable source
                && (source.TryGetValue("virtual", out var v) && v is "." || source.TryGetValue("editable", out var e) && e is "."))
            {
                continue;
            }

            if (package.TryGetValue("name", out var name) && name is string n)
            {
                packages.Add(new InstalledPackage(n, package.TryGetValue("version", out var version) && version is string ver ? ver : ""));
            }
        }

        return packages.OrderBy(p => p.Name, StringComparer.OrdinalIgnoreCase).ToList();
    }

    /// <summary>The <c>version</c> of a uv.lock (1 for every current uv).</summary>
    public static long LockVersion(string uvLock) =>
        ParseToml(uvLock).TryGetValue("version", out var v) && v is long version ? version : 0;

    /// <summary><c>[project] dependencies</c> of a pyproject.toml: the declared specs seed 001 lists.</summary>
    public static IReadOnlyList<string> ParseProjectDependencies(string pyproject)
    {
        var model = ParseToml(pyproject);
        if (model.TryGetValue("project", out var p) && p is TomlTable project && project.TryGetValue("dependencies", out var d) && d is TomlArray deps)
        {
            return deps.OfType<string>().ToList();
        }

        return [];
    }

    /// <summary>Versions from <c>uv python list --output-format json</c> (objects with a <c>version</c>).</summary>
    public static IReadOnlyList<string> ParsePythonList(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.ValueKind != JsonValueKind.Array
            ? []
            : document.RootElement.EnumerateArray()
                .Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.String)
                .Select(e => e.GetProperty("version").GetString()!)
                .Distinct()
                .ToList();
    }

    private static TomlTable ParseToml(string text) => TomlSerializer.Deserialize<TomlTable>(text) ?? new TomlTable();
}
