using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace EnvFabric.Testing;

/// <summary>A wheel to build: a pure-Python distribution with one module, optionally depending on others.</summary>
/// <param name="Name">Distribution name, e.g. <c>alpha-utils</c>.</param>
/// <param name="Version">PEP 440 version, e.g. <c>1.0.0</c>.</param>
/// <param name="Requires">Requires-Dist entries (PEP 508), e.g. <c>beta&gt;=1.0</c>.</param>
public sealed record WheelSpec(string Name, string Version, params string[] Requires)
{
    /// <summary>The importable module: the name lower-cased with <c>-</c> and <c>.</c> as <c>_</c>.</summary>
    public string Module => Regex.Replace(Name, "[-_.]+", "_").ToLowerInvariant();

    /// <summary>Extra source appended to the module's <c>__init__.py</c>.</summary>
    public string? Code { get; init; }
}

/// <summary>
/// Writes real wheels (zip files with the module, METADATA, WHEEL and RECORD with sha256 hashes) into a
/// directory that pip and uv accept as <c>--find-links</c>, because tests reach no package index. Each module
/// exposes <c>__version__</c>; importing it imports its requirements' modules, so a missing dependency fails
/// loudly.
/// </summary>
public static class Wheelhouse
{
    /// <summary>Writes one wheel per spec into <paramref name="directory"/> (created if missing); returns their paths.</summary>
    public static IReadOnlyList<string> Create(string directory, params WheelSpec[] wheels)
    {
        ArgumentNullException.ThrowIfNull(wheels);
        Directory.CreateDirectory(directory);
        return wheels.Select(w => Write(directory, w)).ToList();
    }

    /// <summary>The wheel file name of a spec (<c>{name}-{version}-py3-none-any.whl</c>, name normalised).</summary>
    public static string FileName(WheelSpec wheel)
    {
        ArgumentNullException.ThrowIfNull(wheel);
        return $"{Regex.Replace(wheel.Name, "[-_.]+", "_").ToLowerInvariant()}-{wheel.Version}-py3-none-any.whl";
    }

    private static string Write(string directory, WheelSpec wheel)
    {
        var distName = Regex.Replace(wheel.Name, "[-_.]+", "_").ToLowerInvariant();
        var distInfo = $"{distName}-{wheel.Version}.dist-info";
        var imports = string.Concat(wheel.Requires.Select(r => $"import {Regex.Replace(Regex.Match(r, "^[A-Za-z0-9._-]+").Value, "[-_.]+", "_").ToLowerInvariant()}\n"));
        var files = new List<(string Path, byte[] Content)>
        {
            ($"{wheel.Module}/__init__.py", Utf8($"{imports}__version__ = \"{wheel.Version}\"\n{wheel.Code}")),
            ($"{distInfo}/METADATA", Utf8(
                "Metadata-Version: 2.1\n" +
                $"Name: {wheel.Name}\n" +
                $"Version: {wheel.Version}\n" +
                "Summary: EnvFabric test package\n" +
                string.Concat(wheel.Requires.Select(r => $"Requires-Dist: {r}\n")))),
            ($"{distInfo}/WHEEL", Utf8("Wheel-Version: 1.0\nGenerator: envfabric-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n")),
            ($"{distInfo}/top_level.txt", Utf8(wheel.Module + "\n")),
        };

        var record = new StringBuilder();
        foreach (var (path, content) in files)
        {
            var hash = Convert.ToBase64String(SHA256.HashData(content)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            record.Append($"{path},sha256={hash},{content.Length}\n");
        }

        record.Append($"{distInfo}/RECORD,,\n");
        files.Add(($"{distInfo}/RECORD", Utf8(record.ToString())));

        var target = Path.Combine(directory, FileName(wheel));
        using var stream = File.Create(target);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create);
        foreach (var (path, content) in files)
        {
            var entry = zip.CreateEntry(path, CompressionLevel.Optimal);
            using var entryStream = entry.Open();
            entryStream.Write(content);
        }

        return target;
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
