namespace EnvFabric.Testing;

/// <summary>Locates the repository (the folder holding EnvFabric.slnx) from a test's output folder.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EnvFabric.slnx")))
            {
                return dir.FullName;
            }
        }

        // Built with --artifacts-path elsewhere: fall back to where this project was compiled from.
        var compiled = typeof(RepoPaths).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .OfType<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "RepoRoot")?.Value;
        if (compiled is not null && File.Exists(Path.Combine(compiled, "EnvFabric.slnx")))
        {
            return Path.GetFullPath(compiled);
        }

        throw new InvalidOperationException("EnvFabric.slnx not found above " + AppContext.BaseDirectory);
    });

    public static string Root => LazyRoot.Value;

    public static string Azurite => Path.Combine(Root, "infra", "node_modules", ".bin", "azurite");
}
