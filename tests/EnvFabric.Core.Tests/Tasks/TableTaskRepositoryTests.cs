using EnvFabric.Core.Tasks;
using EnvFabric.Core.Tests.Environments;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Tasks;

[Collection(AzuriteCollection.Name)]
public sealed class TableTaskRepositoryTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task AllocateIdAsync_ConcurrentCallers_NeverShareAnId()
    {
        var repository = await CreateAsync();

        var ids = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => repository.AllocateIdAsync()));

        Assert.Equal(20, ids.Distinct().Count());
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), ids.Order());
    }

    [Fact]
    public async Task ReserveNameAsync_TakenName_RefusedUntilReleased()
    {
        var repository = await CreateAsync();

        Assert.True(await repository.ReserveNameAsync("nightly", 1));
        Assert.True(await repository.ReserveNameAsync("nightly", 1));
        Assert.False(await repository.ReserveNameAsync("nightly", 2));
        await repository.ReleaseNameAsync("nightly", 2);
        Assert.Equal(1, await repository.FindByNameAsync("nightly"));
        await repository.ReleaseNameAsync("nightly", 1);
        Assert.True(await repository.ReserveNameAsync("nightly", 2));
    }

    [Fact]
    public async Task Counts_FollowConcurrentAddsAndDeletes_AndPagesReadOnlyTheirRows()
    {
        var repository = await CreateAsync();
        await Task.WhenAll(Enumerable.Range(1, 30).Select(i => repository.AddAsync(NewTask(i, i % 3 == 0 ? "team-a" : "default"))));

        Assert.Equal(30, await repository.CountAsync());
        Assert.Equal(10, await repository.CountAsync("team-a"));
        var (page, total) = await repository.ListPageAsync(2, 7, withTotal: true);
        Assert.Equal(30, total);
        Assert.Equal(Enumerable.Range(8, 7).Select(i => (long)i), page.Select(t => t.TaskId));
        var (teamPage, teamTotal) = await repository.ListPageAsync(1, 4, "team-a", withTotal: true);
        Assert.Equal(10, teamTotal);
        Assert.Equal([3L, 6, 9, 12], teamPage.Select(t => t.TaskId));

        // A second add of an existing id is a conflict and changes no count; deletes count down.
        Assert.Equal(TaskSaveOutcome.Conflict, (await repository.AddAsync(NewTask(1, "default"))).Outcome);
        await Task.WhenAll(Enumerable.Range(1, 9).Select(i => repository.DeleteAsync(i)));
        Assert.False(await repository.DeleteAsync(1));
        Assert.Equal(21, await repository.CountAsync());
        Assert.Equal(7, await repository.CountAsync("team-a"));
        Assert.Equal(21, await repository.ListAsync().CountAsync());
    }

    private async Task<TableTaskRepository> CreateAsync()
    {
        var context = new StorageTestContext(azurite);
        var repository = new TableTaskRepository(context.Storage, context.Names, TimeProvider.System);
        await repository.EnsureCreatedAsync();
        return repository;
    }

    private static TaskRecord NewTask(long id, string ns) => new() { TaskId = id, Name = "t" + id, Namespace = ns, Environment = "env" };
}
