using EnvFabric.Testing;

namespace EnvFabric.Durable.Tests;

public sealed class FailureTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Retry_FailsTwice_SucceedsOnThirdAttemptAfterGrowingDurableTimers()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var key = Guid.NewGuid().ToString("N");
        var result = await host.RunAsync(nameof(RetryOrchestrator), new RetryInput(key, 2, 5));

        Assert.Equal(OrchestrationRuntimeStatus.Completed, result.RuntimeStatus);
        Assert.Equal(3, result.ReadOutputAs<int>());
        Assert.Equal(3, host.Recorder.Attempts[key]);
        var history = await host.Client.GetInstanceHistoryAsync(result.InstanceId);
        Assert.Equal(2, history.Count(e => e.EventType == "TaskFailed"));
        // Each retry waits on a durable timer due first-interval x coefficient^(n-1) after the episode's time
        // (the OrchestratorStarted before it): 300 ms, then 600 ms.
        var waits = new List<double>();
        for (var i = 0; i < history.Count; i++)
        {
            if (history[i].EventType == "TimerCreated")
            {
                var episode = history.Take(i).Last(e => e.EventType == "OrchestratorStarted");
                waits.Add((history[i].FireAt!.Value - episode.Timestamp).TotalMilliseconds);
            }
        }

        Assert.Equal(2, waits.Count);
        Assert.InRange(waits[0], 295, 305);
        Assert.InRange(waits[1], 595, 605);
    }

    [Fact]
    public async Task Retry_AlwaysFails_FailsAfterMaxAttempts()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var key = Guid.NewGuid().ToString("N");
        var result = await host.RunAsync(nameof(RetryOrchestrator), new RetryInput(key, 100, 3));

        Assert.Equal(OrchestrationRuntimeStatus.Failed, result.RuntimeStatus);
        Assert.Equal(3, host.Recorder.Attempts[key]);
        Assert.Equal(typeof(TaskFailedException).FullName, result.FailureDetails!.ErrorType);
        Assert.Equal(typeof(InvalidOperationException).FullName, result.FailureDetails.InnerFailure!.ErrorType);
        Assert.Contains("attempt 3 fails", result.FailureDetails.InnerFailure.ErrorMessage, StringComparison.Ordinal);
        var history = await host.Client.GetInstanceHistoryAsync(result.InstanceId);
        Assert.Equal(3, history.Count(e => e.EventType == "TaskFailed"));
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
        Assert.True(result.FailureDetails.IsCausedBy<TaskFailedException>());
    }
}
