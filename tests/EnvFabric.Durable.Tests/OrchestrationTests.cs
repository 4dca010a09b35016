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
        var steps = host.Services.GetService(typeof(StepRecorder)) as StepRecorder;
        Assert.Equal([$"{result.InstanceId}:Tokyo", $"{result.InstanceId}:Seattle", $"{result.InstanceId}:London"], steps!.Steps.ToArray());
    }

    [Fact]
    public async Task FanOutFanIn_HundredActivities_SumsEveryResult()
    {
        await using var host = await DurableTestHost.StartAsync(azurite, o => o.MaxConcurrentActivities = 20);
        var result = await host.RunAsync(nameof(FanOutOrchestrator), 100, timeout: TimeSpan.FromSeconds(120));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(Enumerable.Range(1, 100).Sum() * 2, result.ReadOutputAs<long>());
        var history = await host.Client.GetInstanceHistoryAsync(result.InstanceId);
        Assert.Equal(100, history.Count(e => e.EventType == "TaskScheduled"));
        Assert.Equal(100, history.Count(e => e.EventType == "TaskCompleted"));
    }

    [Fact]
    public async Task SubOrchestration_ExplicitAndGeneratedIds_ChildrenCompleteAndParentGetsOutputs()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var childId = "child-" + Guid.NewGuid().ToString("N");
        var result = await host.RunAsync(nameof(ParentOrchestrator), new ParentInput(childId, ["a", "b"]));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal("Hello a!,Hello b!,Hello x!", result.ReadOutputAs<string>());
        var child = await host.Client.GetInstanceAsync(childId, true);
        Assert.NotNull(child);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, child.RuntimeStatus);
        Assert.Equal(nameof(SequenceOrchestrator), child.Name);
        Assert.Equal(["a", "b"], child.ReadInputAs<string[]>()!);
    }

    [Fact]
    public async Task SubOrchestration_ChildFails_ParentCatchesTaskFailedWithCause()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var result = await host.RunAsync(nameof(FailingChildParentOrchestrator));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var parts = result.ReadOutputAs<string>()!.Split('|');
        Assert.Equal(typeof(TaskFailedException).FullName, parts[0]);
        Assert.Equal(typeof(InvalidOperationException).FullName, parts[1]);
    }

    [Fact]
    public async Task Timer_OneSecond_FiresAndAdvancesCurrentTime()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var result = await host.RunAsync(nameof(TimerOrchestrator), 1.0);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.True(result.ReadOutputAs<double>() >= 1.0, $"orchestration time advanced {result.ReadOutputAs<double>()} s");
        var history = await host.Client.GetInstanceHistoryAsync(result.InstanceId);
        var created = Assert.Single(history, e => e.EventType == "TimerCreated");
        var fired = Assert.Single(history, e => e.EventType == "TimerFired");
        Assert.Equal(created.EventId, fired.ScheduledId);
    }

    [Fact]
    public async Task WaitForExternalEvent_EventBeforeTimeout_EventWins()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ApprovalOrchestrator), new ApprovalInput(30));
        await host.Client.WaitForInstanceStartAsync(id);
        await host.Client.RaiseEventAsync(id, "Approval", "yes");
        var result = await host.WaitAsync(id);

        Assert.Equal("approved:yes", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task WaitForExternalEvent_NoEvent_TimerWinsAndLateEventIsIgnored()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ApprovalOrchestrator), new ApprovalInput(0.5));
        var result = await host.WaitAsync(id);
        await host.Client.RaiseEventAsync(id, "Approval", "too late");

        Assert.Equal("timed out", result.ReadOutputAs<string>());
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await host.Client.GetInstanceAsync(id))!.RuntimeStatus);
    }

    [Fact]
    public async Task ContinueAsNew_EventsRaisedInABurst_UnprocessedEventsCarryOver()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(CounterOrchestrator), new CounterState(0, 0, 4));
        foreach (var value in new[] { 1, 10, 100, 1000 })
        {
            await host.Client.RaiseEventAsync(id, "Add", value);
        }

        var result = await host.WaitAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(1111, result.ReadOutputAs<int>());
        Assert.Equal(4, result.ReadCustomStatusAs<CounterState>()!.Iteration);
        var history = await host.Client.GetInstanceHistoryAsync(id);
        Assert.Single(history, e => e.EventType == "ExecutionStarted");
    }

    [Fact]
    public async Task Retry_FailsTwice_SucceedsOnThirdAttemptAfterGrowingDurableTimers()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var key = Guid.NewGuid().ToString("N");
        var result = await host.RunAsync(nameof(RetryOrchestrator), new RetryInput(key, 2, 5));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(3, result.ReadOutputAs<int>());
        var history = await host.Client.GetInstanceHistoryAsync(result.InstanceId);
        Assert.Equal(2, history.Count(e => e.EventType == "TaskFailed"));
        var timers = history.Where(e => e.EventType == "TimerCreated").ToList();
        Assert.Equal(2, timers.Count);
        // Backoff coefficient 2: the second wait is twice the first (200 ms, then 400 ms, from each episode's time).
        var waits = timers.Select(t => (t.FireAt!.Value - t.Timestamp).TotalMilliseconds).ToList();
        Assert.InRange(waits[0], 150, 250);
        Assert.InRange(waits[1], 350, 450);
    }

    [Fact]
    public async Task Retry_AlwaysFails_FailsAfterMaxAttempts()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var key = Guid.NewGuid().ToString("N");
        var result = await host.RunAsync(nameof(RetryOrchestrator), new RetryInput(key, 100, 3));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Equal(3, (host.Services.GetService(typeof(StepRecorder)) as StepRecorder)!.Attempts[key]);
        Assert.Contains("attempt 3 fails", result.FailureDetails!.InnerFailure!.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ActivityFailure_Caught_OrchestratorSeesTypeAndMessage()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var result = await host.RunAsync(nameof(CatchOrchestrator), "x");

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal("caught boom: x", result.ReadOutputAs<string>());
    }

    [Fact]
    public async Task ActivityFailure_Uncaught_InstanceFailsWithDetails()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var result = await host.RunAsync(nameof(UncaughtOrchestrator), "y");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.NotNull(result.FailureDetails);
        Assert.Equal(typeof(TaskFailedException).FullName, result.FailureDetails.ErrorType);
        Assert.Equal(typeof(InvalidOperationException).FullName, result.FailureDetails.InnerFailure!.ErrorType);
        Assert.Equal("boom: y", result.FailureDetails.InnerFailure.ErrorMessage);
        Assert.False(string.IsNullOrEmpty(result.FailureDetails.InnerFailure.StackTrace));
    }

    [Fact]
    public async Task UnknownOrchestrator_Scheduled_FailsWithClearMessage()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var result = await host.RunAsync("NoSuchOrchestrator");

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Contains("NoSuchOrchestrator", result.FailureDetails!.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NewGuidAndCurrentUtcDateTime_AcrossReplays_StayTheSame()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var result = await host.RunAsync(nameof(ReplayOrchestrator));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var observed = ReplayOrchestrator.Observed[result.InstanceId];
        Assert.True(observed.Count >= 4, $"the orchestrator ran {observed.Count} times; replays expected");
        Assert.Single(observed.Distinct());
        Assert.Equal(observed.First(), result.ReadOutputAs<string>());
        var guid = Guid.Parse(observed.First().Split('|')[0]);
        Assert.Equal(5, guid.Version);
    }

    [Fact]
    public async Task NonDeterministicChange_OnReplay_FailsInstanceWithClearMessage()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ChangingOrchestrator));
        await host.WaitUntilAsync(id, _ => true);
        // Wait until the activity's result is in history, so the instance is waiting for the event.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await host.Client.GetInstanceHistoryAsync(id)).Any(e => e.EventType == "TaskCompleted") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        ChangingOrchestrator.Changed[id] = true;
        await host.Client.RaiseEventAsync(id, "Continue", "go");
        var result = await host.WaitAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Equal(typeof(NonDeterministicOrchestrationException).FullName, result.FailureDetails!.ErrorType);
        Assert.Contains("Non-deterministic", result.FailureDetails.ErrorMessage, StringComparison.Ordinal);
    }
}
