using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Environments;

[Collection(AzuriteCollection.Name)]
public sealed class TableEnvironmentRepositoryTests(AzuriteFixture azurite)
{
    private static EnvironmentRecord NewRecord(string name) => new()
    {
        Name = name,
        PythonVersion = "3.11",
        Backend = EnvironmentBackend.Venv,
        RequestedSpecs = ["numpy>=1.0"],
        Path = "/share/envs/" + name,
        CreatedAt = DateTimeOffset.Parse("2026-01-02T03:04:05Z"),
        UpdatedAt = DateTimeOffset.Parse("2026-01-02T03:04:05Z"),
        LastUsedAt = DateTimeOffset.Parse("2026-01-02T03:04:05Z"),
    };

    private async Task<TableEnvironmentRepository> CreateAsync()
    {
        var context = new StorageTestContext(azurite);
        var repository = new TableEnvironmentRepository(context.Storage, context.Names);
        await repository.EnsureCreatedAsync();
        return repository;
    }

    [Fact]
    public async Task AddAsync_ThenGet_RoundTripsEveryField()
    {
        var repository = await CreateAsync();
        var record = NewRecord("ml") with
        {
            Packages = [new InstalledPackage("numpy", "1.26.4"), new InstalledPackage("pip", "24.0")],
            LockText = "numpy==1.26.4\n",
            LockKind = "pip-freeze",
            LockFileName = "requirements.lock.txt",
            Status = EnvironmentStatus.Ready,
            WorkflowId = "w",
            NodeId = "n",
            VersionId = "v1",
            LastOperationId = "op1",
            LastOperation = "create",
        };

        var added = await repository.AddAsync(record);
        var read = await repository.GetAsync("ml");

        Assert.Equal(SaveOutcome.Saved, added.Outcome);
        Assert.NotNull(read);
        Assert.Equal(record with { ETag = read!.ETag }, read, new RecordComparer());
        Assert.True(read.IsFabric);
    }

    [Fact]
    public async Task AddAsync_ExistingName_Conflicts()
    {
        var repository = await CreateAsync();
        await repository.AddAsync(NewRecord("dup"));

        var second = await repository.AddAsync(NewRecord("dup"));

        Assert.Equal(SaveOutcome.Conflict, second.Outcome);
    }

    [Fact]
    public async Task UpdateAsync_StaleETag_Conflicts()
    {
        var repository = await CreateAsync();
        var saved = (await repository.AddAsync(NewRecord("etag"))).Record!;
        var first = await repository.UpdateAsync(saved with { Status = EnvironmentStatus.Ready });

        var stale = await repository.UpdateAsync(saved with { Status = EnvironmentStatus.Failed });

        Assert.Equal(SaveOutcome.Saved, first.Outcome);
        Assert.Equal(SaveOutcome.Conflict, stale.Outcome);
        Assert.Equal(EnvironmentStatus.Ready, (await repository.GetAsync("etag"))!.Status);
    }

    [Fact]
    public async Task UpdateAsync_LargeLock_IsSplitAndReassembled()
    {
        var repository = await CreateAsync();
        var saved = (await repository.AddAsync(NewRecord("big"))).Record!;
        var lockText = string.Concat(Enumerable.Range(0, 5000).Select(i => $"package-{i}==1.0.{i}\n"));
        var packages = Enumerable.Range(0, 3000).Select(i => new InstalledPackage($"package-{i}", $"1.0.{i}")).ToArray();

        await repository.UpdateAsync(saved with { LockText = lockText, Packages = packages });
        var read = await repository.GetAsync("big");

        Assert.True(lockText.Length > 60_000);
        Assert.Equal(lockText, read!.LockText);
        Assert.Equal(3000, read.Packages.Count);
    }

    [Fact]
    public async Task ListSummariesAsync_ReturnsListFields()
    {
        var repository = await CreateAsync();
        await repository.AddAsync(NewRecord("a") with { Packages = [new InstalledPackage("x", "1")] });
        await repository.AddAsync(NewRecord("b"));

        var summaries = await repository.ListSummariesAsync().ToListAsync();

        Assert.Equal(["a", "b"], summaries.Select(s => s.Name));
        Assert.Equal(1, summaries[0].PackageCount);
        Assert.Equal("3.11", summaries[1].PythonVersion);
    }

    [Fact]
    public async Task DeleteAsync_RemovesOnce()
    {
        var repository = await CreateAsync();
        await repository.AddAsync(NewRecord("gone"));

        Assert.True(await repository.DeleteAsync("gone"));
        Assert.False(await repository.DeleteAsync("gone"));
        Assert.Null(await repository.GetAsync("gone"));
    }

    private sealed class RecordComparer : IEqualityComparer<EnvironmentRecord>
    {
        public bool Equals(EnvironmentRecord? x, EnvironmentRecord? y) =>
            x is not null && y is not null
            && (x with { RequestedSpecs = [], Packages = [] }) == (y with { RequestedSpecs = [], Packages = [] })
            && x.RequestedSpecs.SequenceEqual(y.RequestedSpecs)
            && x.Packages.SequenceEqual(y.Packages);

        public int GetHashCode(EnvironmentRecord obj) => obj.Name.GetHashCode(StringComparison.Ordinal);
    }
}
