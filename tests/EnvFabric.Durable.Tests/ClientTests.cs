using DurableTask.Core.Exceptions;
using EnvFabric.Testing;

namespace EnvFabric.Durable.Tests;

public sealed class ClientTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
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
        // The event reaches the instance while it is suspended, and is held, not delivered.
        await host.WaitForHistoryAsync(id, "EventRaised");
        await Task.Delay(500);
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, (await host.Client.GetInstanceAsync(id))!.RuntimeStatus);

        await host.Client.ResumeInstanceAsync(id, "done");
        var result = await host.WaitAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal("got now", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task CustomStatus_SetByOrchestrator_VisibleWhileRunningAndAfter()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitOrchestrator));
        var running = await host.WaitUntilAsync(id, m => m.SerializedCustomStatus is not null);
        Assert.Equal(OrchestrationRuntimeStatus.Running, running.RuntimeStatus);
        Assert.Equal("waiting", running.ReadCustomStatusAs<string>());

        var echoed = await host.RunAsync(nameof(EchoOrchestrator), "abc");
        Assert.Equal(4, echoed.ReadCustomStatusAs<int>());
        await host.Client.TerminateInstanceAsync(id);
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
        await host.WaitUntilAsync(id, m => m.SerializedCustomStatus is not null);

        Assert.Equal(0, (await host.Client.PurgeInstanceAsync(id)).PurgedInstanceCount);
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await host.Client.GetInstanceAsync(id))!.RuntimeStatus);
        await host.Client.RaiseEventAsync(id, "Go", "still here");
        Assert.Equal("got still here", (await host.WaitAsync(id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task PurgeAllInstances_ByStatusFilter_RemovesOnlyMatching()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var ok = await host.RunAsync(nameof(SequenceOrchestrator), new[] { "a" });
        var failed = await host.RunAsync(nameof(UncaughtOrchestrator), "b");
        var failed2 = await host.RunAsync(nameof(UncaughtOrchestrator), "c");

        var purged = await host.Client.PurgeAllInstancesAsync(new PurgeInstancesFilter(Statuses: [OrchestrationRuntimeStatus.Failed]));

        Assert.Equal(2, purged.PurgedInstanceCount);
        Assert.Null(await host.Client.GetInstanceAsync(failed.InstanceId));
        Assert.Null(await host.Client.GetInstanceAsync(failed2.InstanceId));
        Assert.Empty(await host.Client.GetInstanceHistoryAsync(failed.InstanceId));
        Assert.NotNull(await host.Client.GetInstanceAsync(ok.InstanceId));
    }

    [Fact]
    public async Task ScheduleNew_IdOfRunningInstance_Refused()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = "dup-" + Guid.NewGuid().ToString("N");
        await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitOrchestrator), null, new StartOrchestrationOptions(id));
        await host.Client.WaitForInstanceStartAsync(id);

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
        Assert.Equal(["Hello one!"], first.ReadOutputAs<List<string>>());
        var second = await host.RunAsync(nameof(SequenceOrchestrator), new[] { "two", "three" }, id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, second.RuntimeStatus);
        Assert.Equal(["Hello two!", "Hello three!"], second.ReadOutputAs<List<string>>());
        var history = await host.Client.GetInstanceHistoryAsync(id);
        Assert.Single(history, e => e.EventType == "ExecutionStarted");
        Assert.Equal(2, history.Count(e => e.EventType == "TaskCompleted"));
    }
}
