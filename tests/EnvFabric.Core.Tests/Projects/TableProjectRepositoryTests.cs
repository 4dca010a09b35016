using EnvFabric.Core.Projects;
using EnvFabric.Core.Tasks;
using EnvFabric.Core.Tests.Environments;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Projects;

[Collection(AzuriteCollection.Name)]
public sealed class TableProjectRepositoryTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task AddGetListUpdateDelete_RoundTrip()
    {
        var context = new StorageTestContext(azurite);
        var projects = new TableProjectRepository(context.Storage, context.Names, TimeProvider.System);

        // No table yet: nothing, and the first add creates it.
        Assert.Null(await projects.GetAsync("web"));
        Assert.Empty(await projects.ListAsync().ToListAsync());
        var (added, saved) = await projects.AddAsync(new ProjectRecord { Name = "web", Namespace = "team-a", WorkDir = "src", OutputDir = "out", SizeBytes = 10, FileCount = 2 });
        Assert.Equal(ProjectSaveOutcome.Saved, added);
        Assert.Equal(ProjectSaveOutcome.Conflict, (await projects.AddAsync(new ProjectRecord { Name = "web" })).Outcome);
        await projects.AddAsync(new ProjectRecord { Name = "api" });

        var read = await projects.GetAsync("web");
        Assert.Equal(("team-a", "src", "out", 10L, 2), (read!.Namespace, read.WorkDir, read.OutputDir, read.SizeBytes, read.FileCount));
        Assert.Equal(["api", "web"], (await projects.ListAsync().ToListAsync()).Select(p => p.Name));
        Assert.Equal(["web"], (await projects.ListAsync("team-a").ToListAsync()).Select(p => p.Name));
        Assert.Null(await projects.GetAsync("../web"));

        Assert.Equal(ProjectSaveOutcome.Saved, (await projects.UpdateAsync(read with { OutputDir = null })).Outcome);
        Assert.Equal(ProjectSaveOutcome.Conflict, (await projects.UpdateAsync(saved! with { WorkDir = "" })).Outcome);
        Assert.Null((await projects.GetAsync("web"))!.OutputDir);

        Assert.True(await projects.DeleteAsync("web"));
        Assert.False(await projects.DeleteAsync("web"));
        Assert.Equal(ProjectSaveOutcome.NotFound, (await projects.UpdateAsync(read with { ETag = null })).Outcome);
    }

    [Fact]
    public async Task TasksUsing_ReadsTheTasksProjectColumn()
    {
        var context = new StorageTestContext(azurite);
        var projects = new TableProjectRepository(context.Storage, context.Names, TimeProvider.System);
        Assert.Empty(await projects.TasksUsingAsync("web"));

        var tasks = new TableTaskRepository(context.Storage, context.Names, TimeProvider.System);
        await tasks.EnsureCreatedAsync();
        await tasks.AddAsync(new TaskRecord { TaskId = 1, Name = "one", Environment = "env", Project = "web" });
        await tasks.AddAsync(new TaskRecord { TaskId = 2, Name = "two", Environment = "env" });
        await tasks.AddAsync(new TaskRecord { TaskId = 3, Name = "three", Environment = "env", Project = "web" });
        await tasks.AddAsync(new TaskRecord { TaskId = 4, Name = "four", Environment = "env", Project = "api" });

        Assert.Equal([new ProjectTaskReference(1, "one"), new ProjectTaskReference(3, "three")], await projects.TasksUsingAsync("web"));
        Assert.Equal("web", (await tasks.GetAsync(1))!.Project);
        Assert.Null((await tasks.GetAsync(2))!.Project);
    }
}
