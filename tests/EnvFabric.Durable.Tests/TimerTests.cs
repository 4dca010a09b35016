using EnvFabric.Testing;

namespace EnvFabric.Durable.Tests;

public sealed class TimerTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Timer_Raw_FiresAndIsMatchedInHistory()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var result = await host.RunAsync(nameof(TimerOrchestrator), 1.0);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var history = await host.Client.GetInstanceHistoryAsync(result.InstanceId);
        var created = Assert.Single(history, e => e.EventType == "TimerCreated");
        var fired = Assert.Single(history, e => e.EventType == "TimerFired");
        Assert.Equal(created.FireAt, fired.FireAt);
        var started = history.First(e => e.EventType == "OrchestratorStarted");
        Assert.InRange((created.FireAt!.Value - started.Timestamp).TotalMilliseconds, 995, 1005);
        // No assertion on elapsed time here: the provider truncates a queue message's visibility delay to whole
        // seconds, so a raw timer may resume up to a second early. CreateTimerNotBefore is what never does.
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CreateTimerNotBefore_TwoAndFiveSeconds_OrchestrationAndWallClockNeverEarly(bool extendedSessions)
    {
        await using var host = await DurableTestHost.StartAsync(azurite, o => o.ExtendedSessionsEnabled = extendedSessions);
        var result = await host.RunAsync(nameof(NotBeforeOrchestrator), new[] { 2.0, 5.0 });

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var seen = result.ReadOutputAs<List<NotBeforeObservation>>()!;
        Assert.Equal([2.0, 5.0], seen.Select(s => s.DelaySeconds));
        foreach (var s in seen)
        {
            Assert.True(s.OrchestrationTime >= s.Due, $"{s.DelaySeconds} s timer: orchestration resumed at {s.OrchestrationTime:O}, {(s.Due - s.OrchestrationTime).TotalMilliseconds} ms before due {s.Due:O}");
            Assert.True(s.WallClockAfter >= s.Due, $"{s.DelaySeconds} s timer: next step ran at {s.WallClockAfter:O}, {(s.Due - s.WallClockAfter).TotalMilliseconds} ms before due {s.Due:O}");
        }
    }

    [Fact]
    public async Task CreateTimerNotBefore_LongerThanTheLongestTimer_IsChainedAndNotEarly()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var result = await host.RunAsync(nameof(ChainedTimerOrchestrator), 3.5);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var seen = result.ReadOutputAs<NotBeforeObservation>()!;
        Assert.True(seen.OrchestrationTime >= seen.Due, $"resumed at {seen.OrchestrationTime:O}, before due {seen.Due:O}");
        Assert.True(seen.WallClockAfter >= seen.Due, $"next step ran at {seen.WallClockAfter:O}, before due {seen.Due:O}");

        // Each timer of the chain reaches at most the one-second cap past its orchestration's time, so the
        // first cannot cover the whole wait (how many follow depends on how late each fires).
        var history = await host.Client.GetInstanceHistoryAsync(result.InstanceId);
        var started = history.First(e => e.EventType == "OrchestratorStarted").Timestamp;
        var timers = history.Where(e => e.EventType == "TimerCreated").ToList();
        Assert.True(timers.Count >= 2, $"{timers.Count} timers");
        Assert.InRange((timers[0].FireAt!.Value - started).TotalMilliseconds, 995, 1005);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ScheduleNew_StartAtInThreeSeconds_PendingUntilThenAndFirstStepNotBeforeIt(bool extendedSessions)
    {
        await using var host = await DurableTestHost.StartAsync(azurite, o => o.ExtendedSessionsEnabled = extendedSessions);
        var startAt = DateTimeOffset.UtcNow.AddSeconds(3);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(FirstStepOrchestrator), null, new StartOrchestrationOptions(StartAt: startAt));

        var early = await host.Client.GetInstanceAsync(id);
        if (DateTimeOffset.UtcNow < startAt)
        {
            // Read before StartAt (a stalled box may read it later: then there is nothing to check).
            Assert.Equal(OrchestrationRuntimeStatus.Pending, early!.RuntimeStatus);
        }

        var result = await host.WaitAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        var ranAt = result.ReadOutputAs<DateTime>();
        Assert.True(ranAt >= startAt.UtcDateTime, $"first step ran at {ranAt:O}, {(startAt.UtcDateTime - ranAt).TotalMilliseconds} ms before StartAt {startAt.UtcDateTime:O}");
        var history = await host.Client.GetInstanceHistoryAsync(id);
        Assert.True(history.First(e => e.EventType == "OrchestratorStarted").Timestamp >= startAt.UtcDateTime, "the orchestration's first episode ran before StartAt");
    }

    [Fact]
    public async Task WaitForExternalEvent_EventBeforeTimeout_EventWins()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(ApprovalOrchestrator), new ApprovalInput(60));
        await host.WaitForHistoryAsync(id, "TimerCreated");
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
        Assert.Equal("timed out", result.ReadOutputAs<string>());

        await host.Client.RaiseEventAsync(id, "Approval", "too late");
        await Task.Delay(1000);
        var after = await host.Client.GetInstanceAsync(id, true);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, after!.RuntimeStatus);
        Assert.Equal("timed out", after.ReadOutputAs<string>());
    }
}
