namespace EnvFabric.Core.Validation;

/// <summary>
/// Reads a requirements file (seed 001's <c>requirements_file</c>) into specs: one PEP 508 requirement per
/// line, <c>#</c> comments, blank lines and <c>\</c> continuations. Option lines (<c>-r</c>, <c>-e</c>,
/// <c>--index-url</c>, ...) are refused rather than followed: the index is the service's setting.
/// </summary>
public static class RequirementsFile
{
    /// <summary>Largest requirements file accepted (64 KB).</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>The specs in <paramref name="content"/>, validated, or every error found.</summary>
    public static PackageListResult Parse(string content, PackageSpecOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (content.Length > MaxBytes)
        {
            return new PackageListResult([], [$"requirements file must be at most {MaxBytes} bytes"]);
        }

        var specs = new List<string?>();
        var pending = "";
        foreach (var raw in content.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.EndsWith('\\'))
            {
                pending += line[..^1];
                continue;
            }

            line = pending + line;
            pending = "";
            // A comment starts at '#' at line start or after whitespace (pip's rule), so URLs keep their fragments.
            var hash = line.StartsWith('#') ? 0 : line.IndexOf(" #", StringComparison.Ordinal);
            if (hash >= 0)
            {
                line = line[..hash];
            }

            line = line.Trim();
            if (line.Length > 0)
            {
                specs.Add(line);
            }
        }

        if (pending.Trim().Length > 0)
        {
            specs.Add(pending.Trim());
        }

        return PackageSpec.ParseAll(specs, options);
    }
}
