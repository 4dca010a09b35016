using EnvFabric.Core.Audit;
using EnvFabric.Core.Pools;
using EnvFabric.Core.Tasks;
using EnvFabric.Core.Tests.Environments;
using EnvFabric.Core.Tests.Tasks;
using EnvFabric.Testing;
using Microsoft.Extensions.Time.Testing;

namespace EnvFabric.Core.Tests.Pools;

/// <summary>SLA rules over waiting runs on Azurite: promotion of adjustable tasks' runs, alerts, each once.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class SlaMonitorTests(AzuriteFixture azurite)
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-03-01T00:00:00Z"));

    [Fact]
    public async Task Promote_ReordersTheAdjustableTasksRun_NotTheOthers_AndOnlyOnce()
    {
        var (slots, tasks, audit) = await CreateAsync();
        await tasks.AddAsync(NewTask(1, adjustable: false));
        await tasks.AddAsync(NewTask(2, adjustable: true));
        await tasks.AddAsync(NewTask(3, adjustable: false));
        await tasks.AddAsync(NewTask(4, adjustable: false));
        var now = _time.GetUtcNow();
        Assert.True((await slots.AcquireAsync(TaskSlotsTests.Request("holder", 4, 1, now))).Granted);
        var normal = TaskSlotsTests.Request("normal", 1, 1, now.AddSeconds(5));
        var adjustable = TaskSlotsTests.Request("adjustable", 2, 0, now);
        var fixedLow = TaskSlotsTests.Request("fixed", 3, 0, now.AddSeconds(-1));
        foreach (var request in new[] { normal, adjustable, fixedLow })
        {
            Assert.False((await slots.AcquireAsync(request)).Granted);
        }

        Assert.Equal(["normal", "fixed", "adjustable"], await OrderAsync(slots));
        var configuration = Configuration(new SlaRule { Name = "low-wait", MinPriority = 0, MaxPriority = 0, MaxWaitSeconds = 60, Action = SlaActions.Promote, PromoteBy = 2 });
        var monitor = new SlaMonitor(slots, tasks, audit, _time);

        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty(await monitor.CheckAsync(configuration));
        _time.Advance(TimeSpan.FromSeconds(31));
        var fired = await monitor.CheckAsync(configuration);
        var second = await monitor.CheckAsync(configuration);

        var promotion = Assert.Single(fired);
        Assert.Equal(("adjustable", 0, 2), (promotion.ExecutionId, promotion.Rank, promotion.NewRank!.Value));
        Assert.Empty(second);
        Assert.Equal(["adjustable", "normal", "fixed"], await OrderAsync(slots));
        var promoted = (await slots.SnapshotAsync(PoolNames.Default)).Waiters[0];
        Assert.True(promoted.Promoted);
        Assert.Equal((2, 0), (promoted.Rank, promoted.OriginalRank));

        // The promoted run takes the next free slot, asking with its task's own priority.
        await slots.ReleaseAsync("holder", 0);
        Assert.False((await slots.AcquireAsync(normal)).Granted);
        Assert.True((await slots.AcquireAsync(adjustable)).Granted);
    }

    [Fact]
    public async Task Alert_WritesOneAuditRow_Once()
    {
        var (slots, tasks, audit) = await CreateAsync();
        await tasks.AddAsync(NewTask(1, adjustable: false));
        await tasks.AddAsync(NewTask(2, adjustable: false));
        var now = _time.GetUtcNow();
        Assert.True((await slots.AcquireAsync(TaskSlotsTests.Request("holder", 2, 1, now, pool: "batch"))).Granted);
        Assert.False((await slots.AcquireAsync(TaskSlotsTests.Request("late", 1, 1, now, pool: "batch"))).Granted);
        var configuration = Configuration(
            new SlaRule { Name = "normal-wait", Pool = "batch", MinPriority = 1, MaxPriority = 1, MaxWaitSeconds = 30, Action = SlaActions.Alert },
            new SlaRule { Name = "other-pool", Pool = "gpu", MaxWaitSeconds = 1, Action = SlaActions.Alert },
            new SlaRule { Name = "high-only", MinPriority = 2, MaxWaitSeconds = 1, Action = SlaActions.Alert });
        var monitor = new SlaMonitor(slots, tasks, audit, _time);

        _time.Advance(TimeSpan.FromSeconds(45));
        var first = await Task.WhenAll(monitor.CheckAsync(configuration), new SlaMonitor(slots, tasks, audit, _time).CheckAsync(configuration));
        var again = await monitor.CheckAsync(configuration);

        var alert = Assert.Single(first.SelectMany(f => f));
        Assert.Equal(("normal-wait", "batch", "late", 45d), (alert.Rule, alert.Pool, alert.ExecutionId, alert.WaitedSeconds));
        Assert.Empty(again);
        var row = Assert.Single(await audit.QueryAsync(new AuditQuery { Operation = "sla.alert" }));
        Assert.Equal(("system", "alert", "late"), (row.Who, row.Outcome, row.OperationId));
        Assert.Contains("\"rule\":\"normal-wait\"", row.Inputs, StringComparison.Ordinal);
        Assert.Contains("\"waited_seconds\":45", row.Inputs, StringComparison.Ordinal);
        Assert.Equal(["normal-wait"], (await slots.SnapshotAsync("batch")).Waiters.Single().SlaFired);
    }

    private static PoolConfiguration Configuration(params SlaRule[] rules) => new()
    {
        Pools = [new PoolDefinition { Name = PoolNames.Default, Capacity = 1 }, new PoolDefinition { Name = "batch", Capacity = 1 }, new PoolDefinition { Name = "gpu", Capacity = 1 }],
        Queues = [new QueueDefinition { Name = "default", Pool = PoolNames.Default }, new QueueDefinition { Name = "batch", Pool = "batch" }, new QueueDefinition { Name = "gpu", Pool = "gpu" }],
        Slas = rules,
    };

    private static TaskRecord NewTask(long id, bool adjustable) => new() { TaskId = id, Name = "t" + id, Namespace = "default", Environment = "env", Adjustable = adjustable };

    private static async Task<List<string>> OrderAsync(TaskSlots slots) =>
        (await slots.SnapshotAsync(PoolNames.Default)).Waiters.Select(w => w.ExecutionId).ToList();

    private async Task<(TaskSlots Slots, TableTaskRepository Tasks, TableAuditLog Audit)> CreateAsync()
    {
        var context = new StorageTestContext(azurite);
        var repository = new TableTaskRepository(context.Storage, context.Names, _time);
        await repository.EnsureCreatedAsync();
        var audit = new TableAuditLog(context.Storage, context.Names);
        await audit.EnsureCreatedAsync();
        return (new TaskSlots(context.Storage, context.Names, repository, _time), repository, audit);
    }
}
