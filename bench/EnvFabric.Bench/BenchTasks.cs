using EnvFabric.Core.Tasks;

namespace EnvFabric.Bench;

/// <summary>Tasks written straight to the table, for the suites that measure reads over many tasks.</summary>
public static class BenchTasks
{
    /// <summary>
    /// Adds tasks until <paramref name="total"/> exist, each made by <paramref name="make"/> from its id (far above the
    /// counter's, so they never meet the API's own) and given a far cron trigger; a uuid on the task is reserved too.
    /// Returns the ids added.
    /// </summary>
    public static async Task<List<long>> FillAsync(TableTaskRepository repository, int total, string farCron, Func<long, TaskRecord> make)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(make);
        var existing = 0;
        await foreach (var _ in repository.ListAsync())
        {
            existing++;
        }

        var inserted = Enumerable.Range(0, Math.Max(0, total - existing)).Select(i => 1_000_000L + i).ToList();
        var now = DateTimeOffset.UtcNow;
        var trigger = new TaskTrigger { Kind = TriggerKind.Cron, CronExpression = farCron };
        await Parallel.ForEachAsync(inserted, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, ct) =>
        {
            var task = make(id) with { Trigger = trigger, CreatedAt = now, UpdatedAt = now, NextRunAt = trigger.FirstDue(now), ScheduleAnchor = now };
            if (task.Uuid is { } uuid && !await repository.ReserveUuidAsync(uuid, id, ct))
            {
                throw new InvalidOperationException($"reserve uuid of task {id}");
            }

            var (outcome, _) = await repository.AddAsync(task, ct);
            if (outcome != TaskSaveOutcome.Saved)
            {
                throw new InvalidOperationException($"insert task {id}: {outcome}");
            }
        });

        return inserted;
    }
}
