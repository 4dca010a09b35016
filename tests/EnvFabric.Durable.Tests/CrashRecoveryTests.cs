using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using EnvFabric.Durable.TestWorker;
using EnvFabric.Testing;

namespace EnvFabric.Durable.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class CrashRecoveryTests(AzuriteFixture azurite)
{
    private const int Steps = 6;

    [Fact]
    public async Task Worker_KilledAtSeveralPoints_NewWorkerCompletesEveryInstance()
    {
        using var dir = new TempDirectory("durable-crash");
        var effects = Path.Combine(dir.Path, "effects.log");
        File.WriteAllText(effects, "");
        await using var client = await DurableTestHost.StartAsync(azurite, worker: false);
        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            ids.Add(await client.Client.ScheduleNewOrchestrationInstanceAsync(nameof(CrashSequence), Steps));
        }

        // Kill twice, at different depths of the instances, then let a third worker finish.
        foreach (var killAfter in new[] { 8, 24 })
        {
            using var doomed = await WorkerProcess.StartAsync(azurite.ConnectionString, client.HubName, effects);
            await WaitForLinesAsync(effects, killAfter);
            doomed.Kill();
        }

        var beforeLast = ReadLines(effects).Count;
        Assert.True(beforeLast < ids.Count * Steps, "the killed workers finished everything; the test proves nothing");
        using var survivor = await WorkerProcess.StartAsync(azurite.ConnectionString, client.HubName, effects);
        foreach (var id in ids)
        {
            var result = await client.WaitAsync(id, TimeSpan.FromSeconds(120));
            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal(Enumerable.Range(1, Steps), result.ReadOutputAs<List<int>>()!);
        }

        // Every step's effect happened at least once (activities are at-least-once).
        var lines = ReadLines(effects).ToHashSet();
        foreach (var id in ids)
        {
            for (var step = 1; step <= Steps; step++)
            {
                Assert.Contains($"{id}:{step}", lines);
            }
        }
    }

    [Fact]
    public async Task TwoWorkers_SharePartitions_SurvivorTakesOverWhenOneIsKilled()
    {
        using var dir = new TempDirectory("durable-takeover");
        var effects = Path.Combine(dir.Path, "effects.log");
        File.WriteAllText(effects, "");
        var hub = "hub" + AzuriteFixture.UniqueName("t");
        using var other = await WorkerProcess.StartAsync(azurite.ConnectionString, hub, effects);
        await using var host = await DurableTestHost.StartAsync(azurite, hubName: hub, extra: CrashTasks.Register, services: s => s.AddSingleton(new EffectLog(effects)));

        // Both workers hold an equal share of the four partitions.
        await WaitAsync(() => host.OwnedPartitions.Count == 2 && LeaseOwnersAsync(hub).Result.Distinct().Count() == 2, TimeSpan.FromSeconds(30));
        var first = await RunManyAsync(host, 12);
        var owners = await LeaseOwnersAsync(hub);
        Assert.Equal(2, owners.Distinct().Count());

        other.Kill();
        // The survivor takes the dead worker's partitions once their leases expire (lease interval 2 s).
        await WaitAsync(() => host.OwnedPartitions.Count == 4, TimeSpan.FromSeconds(20));
        Assert.Single((await LeaseOwnersAsync(hub)).Distinct());
        var second = await RunManyAsync(host, 12);

        foreach (var id in first.Concat(second))
        {
            var result = await host.WaitAsync(id, TimeSpan.FromSeconds(60));
            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        }

        // The instances covered every partition, those the dead worker owned included.
        Assert.Equal(4, second.Select(id => (int)(Storage.Fnv1a.Hash(id) % 4)).Distinct().Count());
    }

    private static async Task<List<string>> RunManyAsync(DurableTestHost host, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            // Ids chosen to cover every partition.
            string id;
            do
            {
                id = Guid.NewGuid().ToString("N");
            }
            while ((int)(Storage.Fnv1a.Hash(id) % 4) != i % 4);
            ids.Add(await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(CrashSequence), 2, new StartOrchestrationOptions(id)));
        }

        foreach (var id in ids)
        {
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await host.WaitAsync(id, TimeSpan.FromSeconds(60))).RuntimeStatus);
        }

        return ids;
    }

    private async Task<List<string>> LeaseOwnersAsync(string hub)
    {
        var table = azurite.Tables.GetTableClient(hub + "Partitions");
        var owners = new List<string>();
        await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == "lease"))
        {
            if (row.GetDateTimeOffset("ExpiresAt") > DateTimeOffset.UtcNow && !string.IsNullOrEmpty(row.GetString("Owner")))
            {
                owners.Add(row.GetString("Owner"));
            }
        }

        return owners;
    }

    private static List<string> ReadLines(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    private static async Task WaitForLinesAsync(string path, int count)
    {
        await WaitAsync(() => ReadLines(path).Count >= count, TimeSpan.FromSeconds(60));
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(50);
        }
    }
}
