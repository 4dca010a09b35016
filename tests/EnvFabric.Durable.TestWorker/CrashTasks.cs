using Azure.Data.Tables;
using Microsoft.DurableTask;

namespace EnvFabric.Durable.TestWorker;

/// <summary>
/// Where activities record their effects: one row per execution in an Azurite table shared by every worker
/// (partition key the instance, row key the step and a fresh id, so a step that ran twice shows twice).
/// </summary>
public sealed class EffectLog(TableClient table)
{
    public TableClient Table { get; } = table;

    public Task RecordAsync(string instanceId, int step) =>
        Table.AddEntityAsync(new TableEntity(instanceId, $"{step:D2}-{Guid.NewGuid():N}") { ["Step"] = step });

    /// <summary>Every recorded execution: (instance, step).</summary>
    public static async Task<List<(string InstanceId, int Step)>> ReadAsync(TableClient table)
    {
        var rows = new List<(string, int)>();
        await foreach (var row in table.QueryAsync<TableEntity>(select: ["PartitionKey", "Step"]))
        {
            rows.Add((row.PartitionKey, row.GetInt32("Step") ?? -1));
        }

        return rows;
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

/// <summary>Records its step (the effect), slowly enough that a kill lands in the middle of instances.</summary>
public sealed class RecordStep(EffectLog log) : TaskActivity<int, int>
{
    public override async Task<int> RunAsync(TaskActivityContext context, int input)
    {
        await Task.Delay(250);
        await log.RecordAsync(context.InstanceId, input);
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
