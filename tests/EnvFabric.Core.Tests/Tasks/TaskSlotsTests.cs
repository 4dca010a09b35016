using EnvFabric.Core.Tasks;
using EnvFabric.Core.Tests.Environments;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Tasks;

/// <summary>The slots of runner pools on Azurite: separate capacity per pool, order by any-int rank, queue weights.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TaskSlotsTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-03-01T00:00:00Z");

    [Fact]
    public async Task TwoPools_DoNotShareCapacity()
    {
        var slots = await CreateAsync();

        var a1 = await slots.AcquireAsync(Request("a1", 1, 1, T0, pool: "gpu"));
        var b1 = await slots.AcquireAsync(Request("b1", 2, 1, T0, pool: PoolNames.Default));
        var a2 = await slots.AcquireAsync(Request("a2", 3, 1, T0.AddSeconds(1), pool: "gpu"));
        var b2 = await slots.AcquireAsync(Request("b2", 4, 1, T0.AddSeconds(1), pool: PoolNames.Default));

        Assert.True(a1.Granted);
        Assert.True(b1.Granted);
        Assert.False(a2.Granted);
        Assert.False(b2.Granted);
        Assert.Equal((1, 1), await slots.CountAsync("gpu"));
        Assert.Equal((1, 1), await slots.CountAsync(PoolNames.Default));

        // A release in one pool wakes that pool's waiter only, and frees that pool's slot only.
        Assert.Equal(["run-a2"], await slots.ReleaseAsync("a1", 3, "gpu"));
        Assert.False((await slots.AcquireAsync(Request("b2", 4, 1, T0.AddSeconds(1), pool: PoolNames.Default))).Granted);
        Assert.True((await slots.AcquireAsync(Request("a2", 3, 1, T0.AddSeconds(1), pool: "gpu"))).Granted);
    }

    [Fact]
    public async Task Waiters_GoInRankOrder_NegativeAndLargeRanksIncluded_ThenDueTime()
    {
        var slots = await CreateAsync();
        Assert.True((await slots.AcquireAsync(Request("blocker", 100, 1, T0))).Granted);
        (string Id, int Rank, int Second)[] runs =
        [
            ("m5", -5, 0), ("max", int.MaxValue, 1), ("zero", 0, 2), ("min", int.MinValue, 3), ("k", 1000, 4), ("m1", -1, 5), ("zero-later", 0, 6), ("zero-first", 0, -1),
        ];
        var taskId = 1;
        var requests = runs.Select(r => Request(r.Id, taskId++, r.Rank, T0.AddSeconds(r.Second), limit: 1)).ToList();
        foreach (var request in requests)
        {
            Assert.False((await slots.AcquireAsync(request)).Granted);
        }

        string[] expected = ["max", "k", "zero-first", "zero", "zero-later", "m1", "m5", "min"];
        Assert.Equal(expected, (await slots.SnapshotAsync(PoolNames.Default)).Waiters.Select(w => w.ExecutionId));

        // Each slot that frees goes to the first in line, whoever asks first.
        var granted = new List<string>();
        var holder = "blocker";
        for (var i = 0; i < expected.Length; i++)
        {
            await slots.ReleaseAsync(holder, 0);
            var answers = new List<(string Id, bool Granted)>();
            foreach (var request in Enumerable.Reverse(requests).Where(r => !granted.Contains(r.ExecutionId)))
            {
                answers.Add((request.ExecutionId, (await slots.AcquireAsync(request)).Granted));
            }

            holder = Assert.Single(answers, a => a.Granted).Id;
            granted.Add(holder);
        }

        Assert.Equal(expected, granted);
    }

    [Fact]
    public async Task Weights_ThreeToOne_BothQueuesWaiting_GiveThreeAndOneHolders()
    {
        var slots = await CreateAsync();
        var weights = new Dictionary<string, int> { ["hi"] = 3, ["lo"] = 1 };
        SlotRequest Weighted(string id, long task, int rank, int second, string queue) =>
            Request(id, task, rank, T0.AddSeconds(second), limit: 4) with { Queue = queue, Weights = weights };

        var blockers = Enumerable.Range(0, 4).Select(i => Weighted("block" + i, 100 + i, 5, i, "hi")).ToList();
        foreach (var blocker in blockers)
        {
            Assert.True((await slots.AcquireAsync(blocker)).Granted);
        }

        // Higher priority in "hi": plain priority order would give it every slot.
        var waiting = Enumerable.Range(0, 5).Select(i => Weighted("hi" + i, 10 + i, 2, 10 + i, "hi"))
            .Concat(Enumerable.Range(0, 5).Select(i => Weighted("lo" + i, 20 + i, 0, 20 + i, "lo")))
            .ToList();
        foreach (var request in waiting)
        {
            Assert.False((await slots.AcquireAsync(request)).Granted);
        }

        foreach (var blocker in blockers)
        {
            await slots.ReleaseAsync(blocker.ExecutionId, 0);
        }

        var granted = new List<string>();
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var request in waiting.Where(r => !granted.Contains(r.ExecutionId)))
            {
                if ((await slots.AcquireAsync(request)).Granted)
                {
                    granted.Add(request.ExecutionId);
                }
            }
        }

        Assert.Equal(["hi0", "hi1", "hi2", "lo0"], granted.Order(StringComparer.Ordinal));
        Assert.Equal(["hi", "hi", "hi", "lo"], (await slots.SnapshotAsync(PoolNames.Default)).Holders.Select(h => h.Queue!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Weights_OnlyOneQueueWaiting_TakesEveryFreeSlot()
    {
        var slots = await CreateAsync();
        var weights = new Dictionary<string, int> { ["hi"] = 3, ["lo"] = 1 };
        var requests = Enumerable.Range(0, 5).Select(i => Request("lo" + i, 20 + i, 0, T0.AddSeconds(i), limit: 4) with { Queue = "lo", Weights = weights }).ToList();

        var granted = new List<bool>();
        foreach (var request in requests)
        {
            granted.Add((await slots.AcquireAsync(request)).Granted);
        }

        Assert.Equal([true, true, true, true, false], granted);
    }

    [Fact]
    public async Task LegacyWaiterRow_KeepsItsPlace_AndIsGrantedByItsExecution()
    {
        var context = new StorageTestContext(azurite);
        var slots = await CreateAsync(context);
        Assert.True((await slots.AcquireAsync(Request("holder", 1, 1, T0))).Granted);
        Assert.False((await slots.AcquireAsync(Request("normal", 2, 1, T0))).Granted);

        // A row written before ranks were stored: "w-{9 - rank}-{ticks}-{execution}", here a high (2) run due later.
        var table = context.Storage.Tables.GetTableClient(context.Names.Table(TaskSlots.TableName));
        await table.AddEntityAsync(new Azure.Data.Tables.TableEntity("slots", $"w-7-{T0.AddMinutes(1).UtcTicks:D19}-old")
        {
            ["ExecutionId"] = "old", ["InstanceId"] = "run-old", ["TaskId"] = 3L, ["OnePerTask"] = true, ["QueuedAt"] = T0.AddMinutes(1),
        });

        var line = (await slots.SnapshotAsync(PoolNames.Default)).Waiters;
        Assert.Equal(["old", "normal"], line.Select(w => w.ExecutionId));
        Assert.Equal(2, line[0].Rank);
        await slots.ReleaseAsync("holder", 0);
        Assert.False((await slots.AcquireAsync(Request("normal", 2, 1, T0))).Granted);
        Assert.True((await slots.AcquireAsync(Request("old", 3, 2, T0.AddMinutes(1)))).Granted);
        Assert.Equal((1, 1), await slots.CountAsync());
    }

    internal static SlotRequest Request(string id, long taskId, int rank, DateTimeOffset due, int limit = 1, string pool = PoolNames.Default) =>
        new(id, "run-" + id, taskId, rank, due, OnePerTask: true, limit) { Pool = pool, Queue = pool };

    private Task<TaskSlots> CreateAsync() => CreateAsync(new StorageTestContext(azurite));

    private static async Task<TaskSlots> CreateAsync(StorageTestContext context)
    {
        var repository = new TableTaskRepository(context.Storage, context.Names, TimeProvider.System);
        await repository.EnsureCreatedAsync();
        return new TaskSlots(context.Storage, context.Names, repository, TimeProvider.System);
    }
}
