using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace EnvFabric.Core.Configuration;

/// <summary>
/// Loads <c>local.settings.json</c> the way <c>func start</c> does: its <c>Values</c> become configuration
/// keys, and <c>Host.LocalHttpPort</c> becomes <c>Host:LocalHttpPort</c>. Environment variables added after
/// it override it.
/// </summary>
public static class LocalSettings
{
    /// <summary>The file name Functions uses.</summary>
    public const string FileName = "local.settings.json";

    /// <summary>Finds <c>local.settings.json</c> in <paramref name="startDirectory"/> or a parent of it.</summary>
    public static string? Find(string startDirectory)
    {
        for (var dir = new DirectoryInfo(startDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, FileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }

            // Stop at the repository root: a settings file above it belongs to something else.
            if (File.Exists(Path.Combine(dir.FullName, "EnvFabric.slnx")))
            {
                break;
            }
        }

        return null;
    }

    /// <summary>Reads the file's <c>Values</c> and <c>Host</c> sections as flat configuration pairs.</summary>
    public static IReadOnlyDictionary<string, string?> Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var document = JsonDocument.Parse(stream, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (document.RootElement.TryGetProperty("Values", out var valueSection) && valueSection.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in valueSection.EnumerateObject())
            {
                // Functions' double-underscore convention maps to configuration sections.
                values[property.Name.Replace("__", ":", StringComparison.Ordinal)] = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString(),
                    JsonValueKind.Null => null,
                    _ => property.Value.GetRawText(),
                };
            }
        }

        if (document.RootElement.TryGetProperty("Host", out var host) && host.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in host.EnumerateObject())
            {
                values["Host:" + property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : property.Value.GetRawText();
            }
        }

        return values;
    }

    /// <summary>
    /// Adds <c>local.settings.json</c> (when found from <paramref name="startDirectory"/>) and then the
    /// environment variables again, so that the environment wins as it does under <c>func start</c>.
    /// Returns the file's directory, against which relative paths such as DATA_ROOT resolve.
    /// </summary>
    public static string AddLocalSettings(this IConfigurationBuilder builder, string startDirectory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var path = Find(startDirectory);
        if (path is null)
        {
            return startDirectory;
        }

        builder.AddInMemoryCollection(Read(path));
        builder.AddEnvironmentVariables();
        return Path.GetDirectoryName(path)!;
    }
}
