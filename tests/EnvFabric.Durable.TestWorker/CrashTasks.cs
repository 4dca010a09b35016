namespace EnvFabric.Durable.TestWorker;

/// <summary>Where activities record their effects: one line per execution, appended to a file shared by all workers.</summary>
public sealed class EffectLog(string path)
{
    private static readonly Lock Sync = new();

    public string Path { get; } = path;

    public void Record(string line)
    {
        lock (Sync)
        {
            File.AppendAllText(Path, line + "\n");
        }
    }
}

/// <summary>The multi-step orchestration the crash tests interrupt: activities, a durable timer, more activities.</summary>
public sealed class CrashSequence : TaskOrchestrator<int, List<int>>
{
    public override async Task<List<int>> RunAsync(TaskOrchestrationContext context, int input)
    {
        var done = new List<int>();
        for (var step = 1; step <= input; step++)
        {
            done.Add(await context.CallActivityAsync<int>(nameof(RecordStep), step));
            if (step == input / 2)
            {
                await context.CreateTimer(TimeSpan.FromMilliseconds(500), CancellationToken.None);
            }
        }

        return done;
    }
}

public sealed class RecordStep(EffectLog log) : TaskActivity<int, int>
{
    public override async Task<int> RunAsync(TaskActivityContext context, int input)
    {
        // Slow enough that a kill lands in the middle of instances.
        await Task.Delay(50, context.CancellationToken);
        log.Record($"{context.InstanceId}:{input}");
        return input;
    }
}

public static class CrashTasks
{
    public static void Register(IDurableTaskBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddOrchestrator<CrashSequence>().AddActivity<RecordStep>();
    }
}
