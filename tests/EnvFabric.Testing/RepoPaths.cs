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

        throw new InvalidOperationException("EnvFabric.slnx not found above " + AppContext.BaseDirectory);
    });

    public static string Root => LazyRoot.Value;

    public static string Azurite => Path.Combine(Root, "infra", "node_modules", ".bin", "azurite");
}
