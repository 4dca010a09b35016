using System.Collections.Concurrent;

namespace EnvFabric.Durable.Tests;

/// <summary>Records what activities did, injected into them (constructor injection through DI).</summary>
public sealed class StepRecorder
{
    public ConcurrentQueue<string> Steps { get; } = new();

    public ConcurrentDictionary<string, int> Attempts { get; } = new();
}

public static class TestTasks
{
    public static void Register(IDurableTaskBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddOrchestrator<SequenceOrchestrator>()
            .AddOrchestrator<FanOutOrchestrator>()
            .AddOrchestrator<ParentOrchestrator>()
            .AddOrchestrator<TimerOrchestrator>()
            .AddOrchestrator<ApprovalOrchestrator>()
            .AddOrchestrator<CounterOrchestrator>()
            .AddOrchestrator<RetryOrchestrator>()
            .AddOrchestrator<CatchOrchestrator>()
            .AddOrchestrator<UncaughtOrchestrator>()
            .AddOrchestrator<WaitOrchestrator>()
            .AddOrchestrator<EchoOrchestrator>()
            .AddOrchestrator<ReplayOrchestrator>()
            .AddOrchestrator<ChangingOrchestrator>()
            .AddOrchestrator<FailingChildParentOrchestrator>()
            .AddOrchestrator<ThrowingChildOrchestrator>()
            .AddOrchestrator<ParentInfoOrchestrator>()
            .AddOrchestrator<NotBeforeOrchestrator>()
            .AddOrchestrator<ChainedTimerOrchestrator>()
            .AddOrchestrator<FirstStepOrchestrator>()
            .AddActivity<SayHello>()
            .AddActivity<Twice>()
            .AddActivity<Flaky>()
            .AddActivity<Throws>()
            .AddActivity<Echo>()
            .AddActivity<WallClock>()
            .AddActivity<Noop>("NoOp");
    }
}

public sealed class SayHello(StepRecorder recorder) : TaskActivity<string, string>
{
    public override Task<string> RunAsync(TaskActivityContext context, string input)
    {
        recorder.Steps.Enqueue(context.InstanceId + ":" + input);
        return Task.FromResult($"Hello {input}!");
    }
}

public sealed class Twice : TaskActivity<int, int>
{
    public override Task<int> RunAsync(TaskActivityContext context, int input) => Task.FromResult(input * 2);
}

public sealed class Noop : TaskActivity<object?, object?>
{
    public override Task<object?> RunAsync(TaskActivityContext context, object? input) => Task.FromResult<object?>(null);
}

public sealed record FlakyInput(string Key, int FailTimes);

public sealed class Flaky(StepRecorder recorder) : TaskActivity<FlakyInput, int>
{
    public override Task<int> RunAsync(TaskActivityContext context, FlakyInput input)
    {
        var attempt = recorder.Attempts.AddOrUpdate(input.Key, 1, (_, n) => n + 1);
        if (attempt <= input.FailTimes)
        {
            throw new InvalidOperationException($"attempt {attempt} fails");
        }

        return Task.FromResult(attempt);
    }
}

public sealed class Throws : TaskActivity<string, string>
{
    public override Task<string> RunAsync(TaskActivityContext context, string input) =>
        throw new InvalidOperationException("boom: " + input);
}

public sealed class Echo : TaskActivity<string, string>
{
    public override Task<string> RunAsync(TaskActivityContext context, string input) => Task.FromResult(input + "!");
}

public sealed class SequenceOrchestrator : TaskOrchestrator<string[], List<string>>
{
    public override async Task<List<string>> RunAsync(TaskOrchestrationContext context, string[] input)
    {
        var results = new List<string>();
        foreach (var name in input)
        {
            results.Add(await context.CallActivityAsync<string>(nameof(SayHello), name));
        }

        return results;
    }
}

public sealed class FanOutOrchestrator : TaskOrchestrator<int, long>
{
    public override async Task<long> RunAsync(TaskOrchestrationContext context, int input)
    {
        var tasks = Enumerable.Range(1, input).Select(i => context.CallActivityAsync<int>(nameof(Twice), i)).ToList();
        var results = await Task.WhenAll(tasks);
        return results.Sum(r => (long)r);
    }
}

public sealed record ParentInput(string ChildId, string[] Names);

public sealed class ParentOrchestrator : TaskOrchestrator<ParentInput, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, ParentInput input)
    {
        var child = await context.CallSubOrchestratorAsync<List<string>>(nameof(SequenceOrchestrator), input.Names, new SubOrchestrationOptions { InstanceId = input.ChildId });
        var generated = await context.CallSubOrchestratorAsync<List<string>>(nameof(SequenceOrchestrator), new[] { "x" });
        var parent = await context.CallSubOrchestratorAsync<string>(nameof(ParentInfoOrchestrator));
        return string.Join(",", child.Concat(generated)) + "|" + parent;
    }
}

public sealed class FailingChildParentOrchestrator : TaskOrchestrator<string, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, string input)
    {
        try
        {
            await context.CallSubOrchestratorAsync<string>(nameof(ThrowingChildOrchestrator), "child", new SubOrchestrationOptions { InstanceId = input });
            return "no failure";
        }
        catch (TaskFailedException ex)
        {
            return $"{ex.FailureDetails.ErrorType}|{ex.FailureDetails.ErrorMessage}|{ex.TaskName}";
        }
    }
}

/// <summary>A child that fails, naming the parent it sees in <see cref="TaskOrchestrationContext.Parent"/>.</summary>
public sealed class ThrowingChildOrchestrator : TaskOrchestrator<string, string>
{
    public override Task<string> RunAsync(TaskOrchestrationContext context, string input) =>
        throw new InvalidOperationException($"child failed; parent {context.Parent?.Name.Name}/{context.Parent?.InstanceId}");
}

/// <summary>Returns the parent it sees: "name/id", or "none".</summary>
public sealed class ParentInfoOrchestrator : TaskOrchestrator<object?, string>
{
    public override Task<string> RunAsync(TaskOrchestrationContext context, object? input) =>
        Task.FromResult(context.Parent is { } parent ? $"{parent.Name.Name}/{parent.InstanceId}" : "none");
}

public sealed class TimerOrchestrator : TaskOrchestrator<double, double>
{
    public override async Task<double> RunAsync(TaskOrchestrationContext context, double seconds)
    {
        var start = context.CurrentUtcDateTime;
        await context.CreateTimer(TimeSpan.FromSeconds(seconds), CancellationToken.None);
        return (context.CurrentUtcDateTime - start).TotalSeconds;
    }
}

public sealed record ApprovalInput(double TimeoutSeconds);

public sealed class ApprovalOrchestrator : TaskOrchestrator<ApprovalInput, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, ApprovalInput input)
    {
        try
        {
            var answer = await context.WaitForExternalEvent<string>("Approval", TimeSpan.FromSeconds(input.TimeoutSeconds));
            return "approved:" + answer;
        }
        catch (TaskCanceledException)
        {
            // Microsoft.DurableTask: the timeout timer won the race.
            return "timed out";
        }
    }
}

public sealed record CounterState(int Iteration, int Sum, int Stop);

/// <summary>Adds one event per execution, then continues as new: events raised in a burst survive the restarts.</summary>
public sealed class CounterOrchestrator : TaskOrchestrator<CounterState, int>
{
    public override async Task<int> RunAsync(TaskOrchestrationContext context, CounterState input)
    {
        var value = await context.WaitForExternalEvent<int>("Add");
        var next = input with { Iteration = input.Iteration + 1, Sum = input.Sum + value };
        context.SetCustomStatus(next);
        if (next.Iteration < input.Stop)
        {
            context.ContinueAsNew(next);
            return -1;
        }

        return next.Sum;
    }
}

public sealed record RetryInput(string Key, int FailTimes, int MaxAttempts);

public sealed class RetryOrchestrator : TaskOrchestrator<RetryInput, int>
{
    public override async Task<int> RunAsync(TaskOrchestrationContext context, RetryInput input)
    {
        var policy = new RetryPolicy(input.MaxAttempts, TimeSpan.FromMilliseconds(300), backoffCoefficient: 2.0);
        return await context.CallActivityAsync<int>(nameof(Flaky), new FlakyInput(input.Key, input.FailTimes), TaskOptions.FromRetryPolicy(policy));
    }
}

public sealed class CatchOrchestrator : TaskOrchestrator<string, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, string input)
    {
        try
        {
            return await context.CallActivityAsync<string>(nameof(Throws), input);
        }
        catch (TaskFailedException ex) when (ex.FailureDetails.IsCausedBy<InvalidOperationException>())
        {
            return "caught " + ex.FailureDetails.ErrorMessage;
        }
    }
}

public sealed class UncaughtOrchestrator : TaskOrchestrator<string, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, string input) =>
        await context.CallActivityAsync<string>(nameof(Throws), input);
}

public sealed class WaitOrchestrator : TaskOrchestrator<object?, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, object? input)
    {
        context.SetCustomStatus("waiting");
        var value = await context.WaitForExternalEvent<string>("Go");
        return "got " + value;
    }
}

public sealed class EchoOrchestrator : TaskOrchestrator<string, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, string input)
    {
        var echoed = await context.CallActivityAsync<string>(nameof(Echo), input);
        context.SetCustomStatus(echoed.Length);
        return echoed;
    }
}

/// <summary>Observes NewGuid and CurrentUtcDateTime on every replay.</summary>
public sealed class ReplayOrchestrator : TaskOrchestrator<object?, string>
{
    public static ConcurrentDictionary<string, ConcurrentBag<string>> Observed { get; } = new();

    public override async Task<string> RunAsync(TaskOrchestrationContext context, object? input)
    {
        var first = $"{context.NewGuid()}|{context.CurrentUtcDateTime:o}";
        Observed.GetOrAdd(context.InstanceId, _ => []).Add(first);
        await context.CallActivityAsync(nameof(Twice), 1);
        await context.CreateTimer(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        await context.CallActivityAsync(nameof(Twice), 2);
        return first;
    }
}

/// <summary>Schedules a different activity once <see cref="Changed"/> is set: a non-deterministic code change.</summary>
public sealed class ChangingOrchestrator : TaskOrchestrator<object?, string>
{
    public static ConcurrentDictionary<string, bool> Changed { get; } = new();

    public override async Task<string> RunAsync(TaskOrchestrationContext context, object? input)
    {
        var activity = Changed.ContainsKey(context.InstanceId) ? nameof(Echo) : nameof(Twice);
        if (activity == nameof(Twice))
        {
            await context.CallActivityAsync<int>(activity, 1);
        }
        else
        {
            await context.CallActivityAsync<string>(activity, "x");
        }

        await context.WaitForExternalEvent<string>("Continue");
        return "done";
    }
}

/// <summary>The wall clock of the worker when the activity ran.</summary>
public sealed class WallClock : TaskActivity<object?, DateTime>
{
    public override Task<DateTime> RunAsync(TaskActivityContext context, object? input) => Task.FromResult(DateTime.UtcNow);
}

public sealed record NotBeforeObservation(double DelaySeconds, DateTime Due, DateTime OrchestrationTime, DateTime WallClockAfter);

/// <summary>Waits each delay with <see cref="DurableTimers.CreateTimerNotBefore(TaskOrchestrationContext, DateTime, CancellationToken)"/> and records what it saw after.</summary>
public sealed class NotBeforeOrchestrator : TaskOrchestrator<double[], List<NotBeforeObservation>>
{
    public override async Task<List<NotBeforeObservation>> RunAsync(TaskOrchestrationContext context, double[] input)
    {
        var seen = new List<NotBeforeObservation>();
        foreach (var seconds in input)
        {
            var due = context.CurrentUtcDateTime.AddSeconds(seconds);
            await context.CreateTimerNotBefore(due);
            var now = context.CurrentUtcDateTime;
            var wall = await context.CallActivityAsync<DateTime>(nameof(WallClock));
            seen.Add(new NotBeforeObservation(seconds, due, now, wall));
        }

        return seen;
    }
}

/// <summary>Waits <c>input</c> seconds with timers of at most one second each (the chaining a long wait uses past the provider's limit).</summary>
public sealed class ChainedTimerOrchestrator : TaskOrchestrator<double, NotBeforeObservation>
{
    public override async Task<NotBeforeObservation> RunAsync(TaskOrchestrationContext context, double input)
    {
        var due = context.CurrentUtcDateTime.AddSeconds(input);
        await context.CreateTimerNotBefore(due, TimeSpan.FromSeconds(1));
        var now = context.CurrentUtcDateTime;
        return new NotBeforeObservation(input, due, now, await context.CallActivityAsync<DateTime>(nameof(WallClock)));
    }
}

/// <summary>Its first step records the wall clock: when a delayed start really ran.</summary>
public sealed class FirstStepOrchestrator : TaskOrchestrator<object?, DateTime>
{
    public override Task<DateTime> RunAsync(TaskOrchestrationContext context, object? input) =>
        context.CallActivityAsync<DateTime>(nameof(WallClock));
}
