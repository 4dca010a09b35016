using Azure.Data.Tables;
using EnvFabric.Core.Tasks;
using EnvFabric.Core.Tests.Environments;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Tasks;

[Collection(AzuriteCollection.Name)]
public sealed class TableTaskReferencesTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task CountAsync_NoTasksTable_IsZero()
    {
        var context = new StorageTestContext(azurite);
        var references = new TableTaskReferences(context.Storage, context.Names);

        Assert.Equal(0, await references.CountAsync("ml"));
        Assert.Empty(await references.CountAllAsync());
        Assert.Equal(new EnvironmentUsage(0, 0, 0), await references.GetUsageAsync("ml"));
    }

    [Fact]
    public async Task RenameAsync_RewritesOnlyReferencingTasks()
    {
        var context = new StorageTestContext(azurite);
        var tasks = context.Storage.Tables.GetTableClient(context.Names.Table(TableTaskReferences.TasksTable));
        await tasks.CreateIfNotExistsAsync();
        await tasks.AddEntityAsync(new TableEntity("task", "t1") { ["Environment"] = "old", ["Name"] = "one" });
        await tasks.AddEntityAsync(new TableEntity("task", "t2") { ["Environment"] = "old" });
        await tasks.AddEntityAsync(new TableEntity("task", "t3") { ["Environment"] = "other" });
        var references = new TableTaskReferences(context.Storage, context.Names);

        var changed = await references.RenameAsync("old", "new");

        Assert.Equal(2, changed);
        Assert.Equal(0, await references.CountAsync("old"));
        Assert.Equal(["t1", "t2"], (await references.ListAsync("new")).Order());
        Assert.Equal("one", (await tasks.GetEntityAsync<TableEntity>("task", "t1")).Value.GetString("Name"));
        Assert.Equal(new Dictionary<string, int> { ["new"] = 2, ["other"] = 1 }, await references.CountAllAsync());
    }

    [Fact]
    public async Task GetUsageAsync_FromExecutions_ComputesRateAndAverage()
    {
        var context = new StorageTestContext(azurite);
        var executions = context.Storage.Tables.GetTableClient(context.Names.Table(TableTaskReferences.ExecutionsTable));
        await executions.CreateIfNotExistsAsync();
        await executions.AddEntityAsync(new TableEntity("e", "1") { ["Environment"] = "ml", ["Status"] = "success", ["DurationSeconds"] = 10.0 });
        await executions.AddEntityAsync(new TableEntity("e", "2") { ["Environment"] = "ml", ["Status"] = "failed", ["DurationSeconds"] = 20.0 });
        await executions.AddEntityAsync(new TableEntity("e", "3") { ["Environment"] = "ml", ["Status"] = "running", ["DurationSeconds"] = 99.0 });
        await executions.AddEntityAsync(new TableEntity("e", "4") { ["Environment"] = "ml", ["Status"] = "success", ["DurationSeconds"] = 30.0 });
        var references = new TableTaskReferences(context.Storage, context.Names);

        var usage = await references.GetUsageAsync("ml");

        Assert.Equal(67, usage.SuccessRate);
        Assert.Equal(20, usage.AvgExecutionTime);
    }
}
