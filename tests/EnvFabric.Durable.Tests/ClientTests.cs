using System.Text;
using EnvFabric.Testing;

namespace EnvFabric.Durable.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class ClientTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task TerminateInstance_Waiting_TerminatedWithReason()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitOrchestrator));
        await host.WaitUntilAsync(id, m => m.SerializedCustomStatus is not null);
        await host.Client.TerminateInstanceAsync(id, "stop now");
        var result = await host.WaitAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, result.RuntimeStatus);
        Assert.Equal("stop now", result.ReadOutputAs<string>());
        Assert.NotNull(result.CompletedAt);
    }

    [Fact]
    public async Task SuspendAndResume_EventWhileSuspended_HeldUntilResumed()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitOrchestrator));
        await host.WaitUntilAsync(id, m => m.SerializedCustomStatus is not null);

        await host.Client.SuspendInstanceAsync(id, "maintenance");
        await host.WaitUntilAsync(id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Suspended);
        await host.Client.RaiseEventAsync(id, "Go", "now");
        // The event is recorded while suspended but not delivered.
        await WaitForHistoryAsync(host, id, "EventRaised");
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, (await host.Client.GetInstanceAsync(id))!.RuntimeStatus);

        await host.Client.ResumeInstanceAsync(id, "done");
        var result = await host.WaitAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal("got now", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task PurgeInstance_Finished_RemovesStateAndHistory()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var result = await host.RunAsync(nameof(SequenceOrchestrator), new[] { "p" });

        Assert.Equal(1, (await host.Client.PurgeInstanceAsync(result.InstanceId)).PurgedInstanceCount);
        Assert.Null(await host.Client.GetInstanceAsync(result.InstanceId));
        Assert.Empty(await host.Client.GetInstanceHistoryAsync(result.InstanceId));
        Assert.Equal(0, (await host.Client.PurgeInstanceAsync(result.InstanceId)).PurgedInstanceCount);
    }

    [Fact]
    public async Task PurgeInstance_Running_RefusedAndKept()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitOrchestrator));
        await host.Client.WaitForInstanceStartAsync(id);

        Assert.Equal(0, (await host.Client.PurgeInstanceAsync(id)).PurgedInstanceCount);
        Assert.NotNull(await host.Client.GetInstanceAsync(id));
    }

    [Fact]
    public async Task PurgeInstances_ByStatusFilter_RemovesOnlyMatching()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var ok = await host.RunAsync(nameof(SequenceOrchestrator), new[] { "a" });
        var failed = await host.RunAsync(nameof(UncaughtOrchestrator), "b");

        var purged = await host.Client.PurgeInstancesAsync(new PurgeInstancesFilter(Statuses: [OrchestrationRuntimeStatus.Failed]));

        Assert.Equal(1, purged.PurgedInstanceCount);
        Assert.Null(await host.Client.GetInstanceAsync(failed.InstanceId));
        Assert.NotNull(await host.Client.GetInstanceAsync(ok.InstanceId));
    }

    [Fact]
    public async Task ScheduleNew_IdOfRunningInstance_Refused()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = "dup-" + Guid.NewGuid().ToString("N");
        await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitOrchestrator), null, new StartOrchestrationOptions(id));

        await Assert.ThrowsAsync<OrchestrationAlreadyExistsException>(() =>
            host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitOrchestrator), null, new StartOrchestrationOptions(id)));

        await host.Client.RaiseEventAsync(id, "Go", "once");
        var result = await host.WaitAsync(id);
        Assert.Equal("got once", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task ScheduleNew_IdOfFinishedInstance_StartsAFreshExecution()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = "again-" + Guid.NewGuid().ToString("N");
        var first = await host.RunAsync(nameof(SequenceOrchestrator), new[] { "one" }, id);
        var second = await host.RunAsync(nameof(SequenceOrchestrator), new[] { "two", "three" }, id);

        Assert.NotEqual(first.ExecutionId, second.ExecutionId);
        Assert.Equal(["Hello two!", "Hello three!"], second.ReadOutputAs<List<string>>());
        var history = await host.Client.GetInstanceHistoryAsync(id);
        Assert.Single(history, e => e.EventType == "ExecutionStarted");
        Assert.Equal(2, history.Count(e => e.EventType == "TaskCompleted"));
    }

    [Fact]
    public async Task ScheduleNew_StartAt_StaysPendingUntilThen()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var startAt = DateTimeOffset.UtcNow.AddSeconds(2);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(SequenceOrchestrator), new[] { "late" }, new StartOrchestrationOptions(StartAt: startAt));

        var pending = await host.Client.GetInstanceAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Pending, pending!.RuntimeStatus);
        var result = await host.WaitAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var history = await host.Client.GetInstanceHistoryAsync(id);
        Assert.True(history[0].Timestamp >= startAt.UtcDateTime.AddMilliseconds(-50), "started before StartAt");
    }

    [Fact]
    public async Task LargePayloads_OverQueueAndTableLimits_RoundTripThroughBlobs()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var big = new StringBuilder().Insert(0, "0123456789abcdef", 8 * 1024).ToString(); // 128 KB
        var result = await host.RunAsync(nameof(EchoOrchestrator), big);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(big + "!", result.ReadOutputAs<string>());
        Assert.Equal(big, result.ReadInputAs<string>());
        var history = await host.Client.GetInstanceHistoryAsync(result.InstanceId);
        Assert.Equal(big + "!", System.Text.Json.JsonSerializer.Deserialize<string>(history.Single(e => e.EventType == "TaskCompleted").Result!));

        var container = azurite.Blobs.GetBlobContainerClient(host.HubName.ToLowerInvariant() + "-largemessages");
        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, result.InstanceId + "/", CancellationToken.None))
        {
            names.Add(blob.Name);
        }

        Assert.Contains(names, n => n.Contains("/message-", StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains("/history-", StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains("/instance-", StringComparison.Ordinal));

        await host.Client.PurgeInstanceAsync(result.InstanceId);
        var left = 0;
        await foreach (var _ in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, result.InstanceId + "/", CancellationToken.None))
        {
            left++;
        }

        Assert.Equal(0, left);
    }

    [Fact]
    public async Task QueryInstances_ByStatusPrefixAndPages_ReturnsMatchingInstances()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var prefix = "q" + Guid.NewGuid().ToString("N")[..8] + "-";
        for (var i = 0; i < 5; i++)
        {
            await host.RunAsync(nameof(SequenceOrchestrator), new[] { "q" }, prefix + i);
        }

        var waiting = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitOrchestrator), null, new StartOrchestrationOptions(prefix + "w"));
        await host.Client.WaitForInstanceStartAsync(waiting);

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await host.Client.QueryInstancesAsync(new OrchestrationQuery(InstanceIdPrefix: prefix, Statuses: [OrchestrationRuntimeStatus.Completed], PageSize: 2, ContinuationToken: token));
            seen.AddRange(page.Instances.Select(i => i.InstanceId));
            token = page.ContinuationToken;
            pages++;
        }
        while (token is not null);

        Assert.Equal(Enumerable.Range(0, 5).Select(i => prefix + i).Order(), seen.Order());
        Assert.True(pages >= 3);
        var running = await host.Client.QueryInstancesAsync(new OrchestrationQuery(InstanceIdPrefix: prefix, Statuses: [OrchestrationRuntimeStatus.Running]));
        Assert.Equal([prefix + "w"], running.Instances.Select(i => i.InstanceId));
    }

    [Fact]
    public async Task InstanceId_WithReservedCharacters_EscapedInKeysAndRoundTrips()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = "env/a#b?c\\d^e-" + Guid.NewGuid().ToString("N")[..6];
        var result = await host.RunAsync(nameof(SequenceOrchestrator), new[] { "k" }, id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(id, result.InstanceId);
        var page = await host.Client.QueryInstancesAsync(new OrchestrationQuery(InstanceIdPrefix: "env/a#b"));
        Assert.Contains(page.Instances, i => i.InstanceId == id);
    }

    private static async Task WaitForHistoryAsync(DurableTestHost host, string id, string eventType)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await host.Client.GetInstanceHistoryAsync(id)).Any(e => e.EventType == eventType))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{eventType} never reached history");
            await Task.Delay(50);
        }
    }
}
