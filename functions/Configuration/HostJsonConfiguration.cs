namespace EnvFabric.Functions.Configuration;

/// <summary>Finds host.json and adds it to configuration under <c>AzureFunctionsJobHost</c>.</summary>
public static class HostJsonConfiguration
{
    public const string FileName = "host.json";

    /// <summary>Content root first (./run starts the host at the repository root), then the app's folder.</summary>
    public static string? Find(string contentRoot)
    {
        foreach (var dir in new[] { contentRoot, AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(dir); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, FileName);
                if (File.Exists(candidate))
                {
                    return candidate;
                }

                if (File.Exists(Path.Combine(d.FullName, "EnvFabric.slnx")))
                {
                    break;
                }
            }
        }

        return null;
    }

    public static IConfigurationBuilder AddHostJson(this IConfigurationBuilder builder, string path)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IConfigurationRoot file;
        try
        {
            file = new ConfigurationBuilder().AddJsonFile(path, optional: false).Build();
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException)
        {
            throw new InvalidOperationException($"host.json at {path} is not valid JSON: {ex.Message}", ex);
        }

        var values = file.AsEnumerable()
            .Where(pair => pair.Value is not null)
            .ToDictionary(pair => HostJsonOptions.SectionName + ":" + pair.Key, pair => pair.Value);
        return builder.AddInMemoryCollection(values);
    }
}
