using EnvFabric.Testing;

namespace EnvFabric.Durable.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class OrchestrationTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Sequence_ThreeActivities_CompletesWithResultsInOrder()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var result = await host.RunAsync(nameof(SequenceOrchestrator), new[] { "Tokyo", "Seattle", "London" });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(["Hello Tokyo!", "Hello Seattle!", "Hello London!"], result.ReadOutputAs<List<string>>());
        var history = await host.Client.GetInstanceHistoryAsync(result.InstanceId);
        Assert.Equal(3, history.Count(e => e.EventType == "TaskScheduled"));
        Assert.Equal(3, history.Count(e => e.EventType == "TaskCompleted"));
    }
}
