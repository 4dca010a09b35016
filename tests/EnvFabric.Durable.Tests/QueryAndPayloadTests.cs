using System.Text;
using System.Text.Json;
using EnvFabric.Testing;

namespace EnvFabric.Durable.Tests;

public sealed class QueryAndPayloadTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly string Big = new StringBuilder().Insert(0, "0123456789abcdef", 8 * 1024).ToString(); // 128 KB

    [Fact]
    public async Task LargePayloads_InputOutputAndActivityResult_RoundTrip()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var result = await host.RunAsync(nameof(EchoOrchestrator), Big);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(Big, result.ReadInputAs<string>());
        Assert.Equal(Big + "!", result.ReadOutputAs<string>());
        var history = await host.Client.GetInstanceHistoryAsync(result.InstanceId);
        Assert.Equal(Big + "!", JsonSerializer.Deserialize<string>(history.Single(e => e.EventType == "TaskCompleted").Result!));

        Assert.Equal(1, (await host.Client.PurgeInstanceAsync(result.InstanceId)).PurgedInstanceCount);
        Assert.Null(await host.Client.GetInstanceAsync(result.InstanceId));
    }

    [Fact]
    public async Task LargePayloads_Event_DeliveredWhole()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitOrchestrator));
        await host.WaitUntilAsync(id, m => m.SerializedCustomStatus is not null);
        await host.Client.RaiseEventAsync(id, "Go", Big);
        var result = await host.WaitAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal("got " + Big, result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task GetAllInstances_ByStatusPrefixAndPages_ReturnsMatchingInstances()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var prefix = "q" + Guid.NewGuid().ToString("N")[..8] + "-";
        var other = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(SequenceOrchestrator), new[] { "elsewhere" });
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(SequenceOrchestrator), new[] { "q" }, new StartOrchestrationOptions(prefix + i)));
        }

        foreach (var id in ids.Append(other))
        {
            Assert.Equal(OrchestrationRuntimeStatus.Completed, (await host.WaitAsync(id)).RuntimeStatus);
        }

        var waiting = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitOrchestrator), null, new StartOrchestrationOptions(prefix + "w"));
        await host.WaitUntilAsync(waiting, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Running);

        var seen = new List<string>();
        var pages = 0;
        var query = new OrchestrationQuery { InstanceIdPrefix = prefix, Statuses = [OrchestrationRuntimeStatus.Completed], PageSize = 2 };
        await foreach (var page in host.Client.GetAllInstancesAsync(query).AsPages(pageSizeHint: 2))
        {
            Assert.True(page.Values.Count <= 2, $"a page of {page.Values.Count}");
            seen.AddRange(page.Values.Select(i => i.InstanceId));
            pages++;
        }

        Assert.Equal(ids.Order(), seen.Order());
        Assert.True(pages >= 3, $"{pages} pages");

        var running = new List<string>();
        await foreach (var instance in host.Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = prefix, Statuses = [OrchestrationRuntimeStatus.Running] }))
        {
            running.Add(instance.InstanceId);
        }

        Assert.Equal([prefix + "w"], running);
        await host.Client.TerminateInstanceAsync(waiting);
    }

    [Fact]
    public async Task InstanceId_WithReservedCharacters_RoundTripsThroughEveryOperation()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var tag = Guid.NewGuid().ToString("N")[..6];
        var id = $"env/a#b?c\\d-{tag}";
        var result = await host.RunAsync(nameof(SequenceOrchestrator), new[] { "k" }, id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(id, result.InstanceId);
        Assert.Equal([id + ":k"], host.Recorder.Steps.ToArray());
        Assert.Contains(await host.Client.GetInstanceHistoryAsync(id), e => e.EventType == "TaskCompleted");

        var found = new List<string>();
        await foreach (var instance in host.Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = "env/a#b?c\\d-" + tag }))
        {
            found.Add(instance.InstanceId);
        }

        Assert.Equal([id], found);

        var waitingId = $"wait/x#y?z\\{tag}";
        await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitOrchestrator), null, new StartOrchestrationOptions(waitingId));
        await host.WaitUntilAsync(waitingId, m => m.SerializedCustomStatus is not null);
        await host.Client.RaiseEventAsync(waitingId, "Go", "escaped");
        Assert.Equal("got escaped", (await host.WaitAsync(waitingId)).ReadOutputAs<string>());

        Assert.Equal(1, (await host.Client.PurgeInstanceAsync(id)).PurgedInstanceCount);
        Assert.Null(await host.Client.GetInstanceAsync(id));
    }
}
