using EnvFabric.Core.Configuration;

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

    /// <summary>
    /// Binds host.json's section onto <paramref name="options"/> with the settings' parser, so booleans take pip's
    /// forms (an environment override <c>AzureFunctionsJobHost__..__extendedSessionsEnabled=1</c> works) and a value
    /// of the wrong type fails naming its key (<c>host.json: extensions.http.maxConcurrentRequests: 'many' is not a
    /// whole number</c>).
    /// </summary>
    public static void Bind(IConfiguration section, object options, string path = "")
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(options);
        foreach (var property in options.GetType().GetProperties().Where(p => p.CanWrite))
        {
            var key = char.ToLowerInvariant(property.Name[0]) + property.Name[1..];
            var name = path.Length == 0 ? key : path + "." + key;
            if (property.PropertyType.IsClass && property.PropertyType != typeof(string))
            {
                Bind(section.GetSection(key), property.GetValue(options)!, name);
            }
            else if (section[key] is { } text)
            {
                property.SetValue(options, SettingValue.Parse("host.json: " + name, text, property.PropertyType));
            }
        }
    }
}
