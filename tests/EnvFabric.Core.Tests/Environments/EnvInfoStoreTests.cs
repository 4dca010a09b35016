using System.Text.Json;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Share;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Environments;

[Collection(AzuriteCollection.Name)]
public sealed class EnvInfoStoreTests(AzuriteFixture azurite) : IDisposable
{
    private readonly TempDirectory _dir = new("share");

    public void Dispose() => _dir.Dispose();

    private static EnvironmentRecord Record(string name) => new()
    {
        Name = name,
        PythonVersion = "3.10",
        Path = "/nas/envs/" + name,
        Status = EnvironmentStatus.Ready,
        Packages = [new InstalledPackage("numpy", "1.24.3")],
        RequestedSpecs = ["numpy"],
        CreatedAt = DateTimeOffset.Parse("2025-05-03T12:34:56Z"),
        UpdatedAt = DateTimeOffset.Parse("2025-05-03T14:22:18Z"),
    };

    [Fact]
    public async Task WriteAsync_WritesSeedFormat()
    {
        var store = new EnvInfoStore(new LocalShareStore(_dir.Path));

        await store.WriteAsync(Record("ml"));

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_dir.Path, "env_info", "ml.json")));
        var root = json.RootElement;
        Assert.Equal("ml", root.GetProperty("name").GetString());
        Assert.Equal("3.10", root.GetProperty("python_version").GetString());
        Assert.Equal("2025-05-03 12:34:56", root.GetProperty("created_at").GetString());
        Assert.Equal("2025-05-03 14:22:18", root.GetProperty("updated_at").GetString());
        Assert.Equal("numpy", root.GetProperty("packages")[0].GetProperty("name").GetString());
        Assert.Equal("1.24.3", root.GetProperty("packages")[0].GetProperty("version").GetString());
    }

    [Fact]
    public async Task ImportMissingAsync_FileWithoutRow_IsImportedOnce()
    {
        var context = new StorageTestContext(azurite);
        var repository = new TableEnvironmentRepository(context.Storage, context.Names);
        await repository.EnsureCreatedAsync();
        var store = new EnvInfoStore(new LocalShareStore(_dir.Path));
        await store.WriteAsync(Record("ml"));
        await store.WriteAsync(Record("present"));
        await repository.AddAsync(Record("present") with { PythonVersion = "3.12" });
        Directory.CreateDirectory(Path.Combine(_dir.Path, "env_info"));
        await File.WriteAllTextAsync(Path.Combine(_dir.Path, "env_info", "broken.json"), "{not json");
        await File.WriteAllTextAsync(Path.Combine(_dir.Path, "env_info", "mismatch.json"), "{\"name\":\"other\",\"python_version\":\"3.9\",\"created_at\":\"x\",\"updated_at\":\"x\"}");
        var importer = new EnvInfoImporter(repository, store);

        var first = await importer.ImportMissingAsync("/nas/envs");
        var second = await importer.ImportMissingAsync("/nas/envs");

        Assert.Equal(["ml"], first);
        Assert.Empty(second);
        var imported = await repository.GetAsync("ml");
        Assert.Equal(EnvironmentStatus.Ready, imported!.Status);
        Assert.Equal("1.24.3", imported.Packages.Single().Version);
        Assert.Equal(DateTimeOffset.Parse("2025-05-03T12:34:56Z"), imported.CreatedAt);
        Assert.Equal("3.12", (await repository.GetAsync("present"))!.PythonVersion);
    }
}
