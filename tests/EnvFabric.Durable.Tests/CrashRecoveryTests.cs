using System.Diagnostics;
using Azure.Data.Tables;
using EnvFabric.Durable.TestWorker;
using EnvFabric.Testing;
using Xunit.Abstractions;

namespace EnvFabric.Durable.Tests;

/// <summary>
/// A worker process SIGKILLed mid-orchestration: a fresh worker finishes every instance. The workers run with
/// the engine's default visibility timeouts (30 s) and lease interval (30 s), which bound the recovery.
/// </summary>
public sealed class CrashRecoveryTests(AzuriteFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    private const int Instances = 8;
    private const int Steps = 6;

    [Fact]
    public async Task Worker_KilledMidOrchestration_FreshWorkerCompletesEveryInstanceWithin60Seconds()
    {
        // The test worker leaves these at the engine's defaults; they are what bounds the recovery.
        var defaults = new DurableTaskOptions();
        Assert.Equal(TimeSpan.FromSeconds(30), defaults.ControlQueueVisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), defaults.WorkItemQueueVisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), defaults.PartitionLeaseInterval);

        var hub = DurableTestHost.NewHubName();
        var effects = await CrashHelpers.CreateEffectsTableAsync(azurite);
        await using var client = await DurableTestHost.StartAsync(azurite, hubName: hub, worker: false);

        long atKill;
        var ids = new List<string>();
        using (var doomed = await WorkerProcess.StartAsync(azurite.ConnectionString, hub, effects.Name))
        {
            for (var i = 0; i < Instances; i++)
            {
                ids.Add(await client.Client.ScheduleNewOrchestrationInstanceAsync(nameof(CrashSequence), Steps));
            }

            await CrashHelpers.WaitAsync(async () => (await EffectLog.ReadAsync(effects)).Count >= 12, TimeSpan.FromSeconds(120), "the first worker never got going");
            doomed.Kill();
            atKill = (await EffectLog.ReadAsync(effects)).Count;
        }

        var completedAtKill = 0;
        foreach (var id in ids)
        {
            completedAtKill += (await client.Client.GetInstanceAsync(id))!.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? 1 : 0;
        }

        Assert.True(completedAtKill < Instances, "the killed worker finished everything; the test proves nothing");

        var restart = Stopwatch.StartNew();
        using var fresh = await WorkerProcess.StartAsync(azurite.ConnectionString, hub, effects.Name);
        var ready = restart.Elapsed;
        foreach (var id in ids)
        {
            var result = await client.WaitAsync(id, TimeSpan.FromSeconds(180));
            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal(Enumerable.Range(1, Steps), result.ReadOutputAs<List<int>>()!);
        }

        var recovered = restart.Elapsed;
        var rows = await EffectLog.ReadAsync(effects);
        output.WriteLine($"effects at kill {atKill}/{Instances * Steps}, instances completed at kill {completedAtKill}/{Instances}; " +
            $"fresh worker ready {ready.TotalSeconds:F1} s after restart; all complete {recovered.TotalSeconds:F1} s after restart; " +
            $"{rows.Count} effect rows for {Instances * Steps} steps ({rows.Count - rows.Distinct().Count()} repeated)");

        // Every step's effect happened at least once (activities run at least once), none is missing.
        var effectSet = rows.ToHashSet();
        foreach (var id in ids)
        {
            for (var step = 1; step <= Steps; step++)
            {
                Assert.Contains((id, step), effectSet);
            }
        }

        Assert.True(recovered <= TimeSpan.FromSeconds(60), $"recovery took {recovered.TotalSeconds:F1} s after the restart (bound 60 s)");
    }
}

/// <summary>
/// Two worker processes on one hub split its four partitions (DTFx's table leases in {hub}Partitions); when one
/// is SIGKILLed the survivor takes every partition and finishes the work. Lease interval 6 s to keep it short.
/// </summary>
public sealed class PartitionTakeoverTests(AzuriteFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    private const int LeaseSeconds = 6;

    [Fact]
    public async Task TwoWorkers_SplitPartitions_SurvivorTakesAllWhenOneIsKilled()
    {
        var hub = DurableTestHost.NewHubName();
        var effects = await CrashHelpers.CreateEffectsTableAsync(azurite);
        await using var client = await DurableTestHost.StartAsync(azurite, hubName: hub, worker: false);
        var leases = new TableServiceClient(azurite.ConnectionString).GetTableClient(hub + "Partitions");

        using var doomed = await WorkerProcess.StartAsync(azurite.ConnectionString, hub, effects.Name, LeaseSeconds);
        using var survivor = await WorkerProcess.StartAsync(azurite.ConnectionString, hub, effects.Name, LeaseSeconds);
        Assert.NotEqual(doomed.WorkerId, survivor.WorkerId);

        // Both workers come to hold two partitions each.
        await CrashHelpers.WaitAsync(
            async () =>
            {
                var owners = await CrashHelpers.LeaseOwnersAsync(leases);
                return owners.Count == 4 && owners.Count(o => o == doomed.WorkerId) == 2 && owners.Count(o => o == survivor.WorkerId) == 2;
            },
            TimeSpan.FromSeconds(120),
            "the workers never split the partitions",
            async () => await CrashHelpers.DescribeLeasesAsync(leases));

        var first = await StartCoveringAllPartitionsAsync(client, 8);
        foreach (var id in first)
        {
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await client.WaitAsync(id, TimeSpan.FromSeconds(120))).RuntimeStatus);
        }

        // More work in flight, then one worker dies.
        var second = await StartCoveringAllPartitionsAsync(client, 8);
        await CrashHelpers.WaitAsync(async () => (await EffectLog.ReadAsync(effects)).Count >= (first.Count * 3) + 4, TimeSpan.FromSeconds(120), "the second batch never got going");
        doomed.Kill();
        var killed = Stopwatch.StartNew();

        await CrashHelpers.WaitAsync(
            async () => (await CrashHelpers.LeaseOwnersAsync(leases)).Count(o => o == survivor.WorkerId) == 4,
            TimeSpan.FromSeconds(120),
            "the survivor never took every partition",
            async () => await CrashHelpers.DescribeLeasesAsync(leases));
        var takeover = killed.Elapsed;
        foreach (var id in second)
        {
            var result = await client.WaitAsync(id, TimeSpan.FromSeconds(180));
            Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
            Assert.Equal(Enumerable.Range(1, 3), result.ReadOutputAs<List<int>>()!);
        }

        output.WriteLine($"survivor held all four partitions {takeover.TotalSeconds:F1} s after the kill; second batch complete {killed.Elapsed.TotalSeconds:F1} s after it");
        var effectSet = (await EffectLog.ReadAsync(effects)).ToHashSet();
        foreach (var id in first.Concat(second))
        {
            for (var step = 1; step <= 3; step++)
            {
                Assert.Contains((id, step), effectSet);
            }
        }
    }

    /// <summary>Starts <paramref name="count"/> three-step instances whose ids land on every control-queue partition in turn.</summary>
    private static async Task<List<string>> StartCoveringAllPartitionsAsync(DurableTestHost client, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            string id;
            do
            {
                id = Guid.NewGuid().ToString("N");
            }
            while (CrashHelpers.PartitionOf(id, 4) != i % 4);
            ids.Add(await client.Client.ScheduleNewOrchestrationInstanceAsync(nameof(CrashSequence), 3, new StartOrchestrationOptions(id)));
        }

        return ids;
    }
}

internal static class CrashHelpers
{
    private static readonly Func<string, uint> Hash = typeof(DurableTask.Core.OrchestrationInstance).Assembly
        .GetType("DurableTask.Core.Common.Fnv1aHashHelper", throwOnError: true)!
        .GetMethod("ComputeHash", [typeof(string)])!
        .CreateDelegate<Func<string, uint>>();

    /// <summary>The control-queue partition of an instance id, as the Azure Storage provider picks it (FNV-1a of the id).</summary>
    public static int PartitionOf(string instanceId, int partitionCount) => (int)(Hash(instanceId) % (uint)partitionCount);

    public static async Task<TableClient> CreateEffectsTableAsync(AzuriteFixture azurite)
    {
        var table = new TableServiceClient(azurite.ConnectionString).GetTableClient(AzuriteFixture.UniqueName("effects"));
        await table.CreateIfNotExistsAsync();
        return table;
    }

    /// <summary>The owner of each partition lease that has not expired.</summary>
    public static async Task<List<string>> LeaseOwnersAsync(TableClient leases)
    {
        var owners = new List<string>();
        try
        {
            await foreach (var row in leases.QueryAsync<TableEntity>())
            {
                if (row.GetString("CurrentOwner") is { Length: > 0 } owner && row.GetDateTimeOffset("ExpiresAt") > DateTimeOffset.UtcNow)
                {
                    owners.Add(owner);
                }
            }
        }
        catch (Azure.RequestFailedException e) when (e.Status == 404)
        {
        }

        return owners;
    }

    public static async Task<string> DescribeLeasesAsync(TableClient leases)
    {
        var lines = new List<string>();
        await foreach (var row in leases.QueryAsync<TableEntity>())
        {
            lines.Add($"{row.RowKey}: owner {row.GetString("CurrentOwner")}, next {row.GetString("NextOwner")}, expires {row.GetDateTimeOffset("ExpiresAt"):O}, draining {row.GetBoolean("IsDraining")}");
        }

        return $"now {DateTimeOffset.UtcNow:O}; " + string.Join("; ", lines);
    }

    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string failure, Func<Task<string>>? describe = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail(failure + (describe is null ? "" : ": " + await describe()));
            }

            await Task.Delay(200);
        }
    }
}
