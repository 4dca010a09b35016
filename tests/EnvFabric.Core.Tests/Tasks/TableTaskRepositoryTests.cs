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

    [Fact]
    public async Task FindExecutionAsync_ById_FindsItUntilRetentionRemovesItAndItsIndexRow()
    {
        var context = new StorageTestContext(azurite);
        var repository = await CreateAsync(context);
        var now = DateTimeOffset.UtcNow;
        var old = NewExecution(7, "20260101000000000-aaaaaaaa", now.AddDays(-40));
        var recent = NewExecution(8, "20260101000000000-bbbbbbbb", now.AddMinutes(-5));
        await repository.UpsertExecutionAsync(old);
        await repository.UpsertExecutionAsync(recent);

        // Later writes (running, then ended) keep it findable by its id alone.
        await repository.UpsertExecutionAsync(old with { Status = ExecutionStatuses.Running, StartTime = now.AddDays(-40) });
        await repository.UpsertExecutionAsync(old with { Status = ExecutionStatuses.Completed, StartTime = now.AddDays(-40), EndTime = now.AddDays(-40).AddSeconds(3), ExitCode = 0 });
        var found = await repository.FindExecutionAsync(old.ExecutionId);
        Assert.NotNull(found);
        Assert.Equal(7, found.TaskId);
        Assert.Equal(ExecutionStatuses.Completed, found.Status);
        Assert.Equal(8, (await repository.FindExecutionAsync(recent.ExecutionId))!.TaskId);
        Assert.Null(await repository.FindExecutionAsync("20260101000000000-cccccccc"));
        Assert.Null(await repository.FindExecutionAsync("bad/key#"));

        // Tags are a merge of their own column: the recorded status and exit code stay.
        Assert.True(await repository.SetExecutionTagsAsync(7, old.ExecutionId, ["nightly", "env=prod"]));
        var tagged = await repository.FindExecutionAsync(old.ExecutionId);
        Assert.Equal(["nightly", "env=prod"], tagged!.Tags);
        Assert.Equal(ExecutionStatuses.Completed, tagged.Status);
        Assert.Equal(0, tagged.ExitCode);
        Assert.False(await repository.SetExecutionTagsAsync(7, "20260101000000000-dddddddd", ["x"]));
        Assert.Null(await repository.GetExecutionAsync(7, "20260101000000000-dddddddd"));

        // Retention removes the old execution and its index row; the recent one stays findable.
        var removed = await repository.DeleteExecutionsEndedBeforeAsync(now.AddDays(-30));
        Assert.Equal([old.ExecutionId], removed.Select(e => e.ExecutionId));
        Assert.Null(await repository.FindExecutionAsync(old.ExecutionId));
        var index = context.Storage.Tables.GetTableClient(context.Names.Table(TableTaskReferences.TasksTable));
        var indexRows = new List<string>();
        await foreach (var row in index.QueryAsync<Azure.Data.Tables.TableEntity>(r => r.PartitionKey == "run"))
        {
            indexRows.Add(row.RowKey);
        }

        Assert.Equal([recent.ExecutionId], indexRows);
        Assert.Equal(8, (await repository.FindExecutionAsync(recent.ExecutionId))!.TaskId);
    }

    private static ExecutionRecord NewExecution(long taskId, string executionId, DateTimeOffset queuedAt) => new()
    {
        TaskId = taskId,
        ExecutionId = executionId,
        RunId = "run-" + executionId,
        Trigger = ExecutionTriggers.Manual,
        Status = ExecutionStatuses.Queued,
        Environment = "env",
        QueuedAt = queuedAt,
        DueAt = queuedAt,
        LogBlob = ExecutionRecord.LogBlobOf(taskId, executionId),
    };

    private async Task<TableTaskRepository> CreateAsync(StorageTestContext? context = null)
    {
        context ??= new StorageTestContext(azurite);
        var repository = new TableTaskRepository(context.Storage, context.Names, TimeProvider.System);
        await repository.EnsureCreatedAsync();
        return repository;
    }

    private static TaskRecord NewTask(long id, string ns) => new() { TaskId = id, Name = "t" + id, Namespace = ns, Environment = "env" };
}
