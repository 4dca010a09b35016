using System.Globalization;
using System.Text.Json;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Core.Pools;

/// <summary>What an SLA rule did to a waiting run.</summary>
/// <param name="Rule">The rule's name.</param>
/// <param name="Action"><see cref="SlaActions.Promote"/> or <see cref="SlaActions.Alert"/>.</param>
/// <param name="Pool">The run's pool.</param>
/// <param name="TaskId">The run's task.</param>
/// <param name="ExecutionId">The run.</param>
/// <param name="WaitedSeconds">How long it had waited.</param>
/// <param name="Rank">Its waiting rank before.</param>
/// <param name="NewRank">Its waiting rank after a promotion.</param>
public sealed record SlaEvent(string Rule, string Action, string Pool, long TaskId, string ExecutionId, double WaitedSeconds, int Rank, int? NewRank);

/// <summary>
/// One pass of the SLA rules over every pool's waiting runs: a run that has waited longer than a matching rule's
/// <c>max_wait_seconds</c> (the rule's pool null or the run's, the run's priority in its band) is handled once per
/// rule. <c>promote</c> raises the waiting rank of an adjustable task's run by <c>promote_by</c>; <c>alert</c> writes
/// an <c>sla.alert</c> audit row. The rule is recorded on the waiter row under the slots' version row or the row's
/// ETag, so of several hosts passing at once only one fires it.
/// </summary>
public sealed class SlaMonitor(TaskSlots slots, ITaskRepository tasks, IAuditLog audit, TimeProvider time)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Applies the rules of <paramref name="configuration"/> once; returns what fired.</summary>
    public async Task<IReadOnlyList<SlaEvent>> CheckAsync(PoolConfiguration configuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var fired = new List<SlaEvent>();
        foreach (var pool in configuration.Pools)
        {
            var rules = configuration.Slas.Where(r => r.Pool is null || r.Pool == pool.Name).ToList();
            if (rules.Count == 0)
            {
                continue;
            }

            var snapshot = await slots.SnapshotAsync(pool.Name, cancellationToken).ConfigureAwait(false);
            var adjustable = new Dictionary<long, TaskRecord?>();
            foreach (var waiter in snapshot.Waiters)
            {
                var waited = (time.GetUtcNow() - waiter.Since).TotalSeconds;
                var rank = waiter.Rank;
                foreach (var rule in rules.Where(r => Matches(r, waiter, waited)))
                {
                    if (!adjustable.TryGetValue(waiter.TaskId, out var task))
                    {
                        task = await tasks.GetAsync(waiter.TaskId, cancellationToken).ConfigureAwait(false);
                        adjustable[waiter.TaskId] = task;
                    }

                    if (rule.Action == SlaActions.Promote)
                    {
                        if (task?.Adjustable != true)
                        {
                            // Recorded, so the next pass does not read the task again for this rule.
                            await slots.MarkFiredAsync(pool.Name, waiter.ExecutionId, rule.Name, cancellationToken).ConfigureAwait(false);
                            continue;
                        }

                        if (await slots.PromoteAsync(pool.Name, waiter.ExecutionId, rule.Name, rule.PromoteBy, cancellationToken).ConfigureAwait(false) is { } raised)
                        {
                            fired.Add(new SlaEvent(rule.Name, rule.Action, pool.Name, waiter.TaskId, waiter.ExecutionId, Math.Round(waited, 3), rank, raised));
                            rank = raised;
                        }
                    }
                    else if (await slots.MarkFiredAsync(pool.Name, waiter.ExecutionId, rule.Name, cancellationToken).ConfigureAwait(false))
                    {
                        var alert = new SlaEvent(rule.Name, SlaActions.Alert, pool.Name, waiter.TaskId, waiter.ExecutionId, Math.Round(waited, 3), rank, null);
                        await AuditAsync(alert, task, cancellationToken).ConfigureAwait(false);
                        fired.Add(alert);
                    }
                }
            }
        }

        return fired;
    }

    /// <summary>The rule watches the run's pool (checked by the caller) and band, has not fired for it, and its wait is over.</summary>
    private static bool Matches(SlaRule rule, SlotWaiter waiter, double waited) =>
        waiter.OriginalRank >= rule.MinPriority && waiter.OriginalRank <= rule.MaxPriority && waited > rule.MaxWaitSeconds
        && !waiter.SlaFired.Contains(rule.Name, StringComparer.Ordinal);

    private async Task AuditAsync(SlaEvent alert, TaskRecord? task, CancellationToken cancellationToken)
    {
        try
        {
            await audit.WriteAsync(
                new AuditRecord
                {
                    Id = string.Create(CultureInfo.InvariantCulture, $"sla-{alert.ExecutionId}-{alert.Rule}"),
                    At = time.GetUtcNow(),
                    Operation = "sla.alert",
                    Environment = task?.Environment ?? "",
                    Who = "system",
                    Inputs = JsonSerializer.Serialize(
                        new { task_id = alert.TaskId, run_id = alert.ExecutionId, pool = alert.Pool, waited_seconds = alert.WaitedSeconds, rule = alert.Rule, priority = alert.Rank },
                        Json),
                    Outcome = "alert",
                    OperationId = alert.ExecutionId,
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (AuditWriteException)
        {
            // The alert is recorded on the waiter row and logged by the caller; an audit outage must not stop the pass.
        }
    }
}
