using Microsoft.DurableTask;

namespace EnvFabric.Durable;

/// <summary>
/// Durable timers that never fire early. The Azure Storage provider sends a timer as a queue message whose
/// visibility delay the storage SDK truncates to whole seconds, and DTFx does not check the fire time when
/// the message arrives: a timer can resume its orchestration up to a second before it is due (a 2 s timer
/// after 1.07 s, a 500 ms retry delay at once). A scheduler must not start a run before its time.
/// </summary>
public static class DurableTimers
{
    /// <summary>
    /// The longest single timer: the provider's timer is a queue message, whose visibility delay Azure Storage
    /// caps at 7 days, so longer waits are chained timers of at most this length.
    /// </summary>
    public static readonly TimeSpan MaxTimerInterval = TimeSpan.FromDays(6);

    /// <summary>
    /// Waits until <see cref="TaskOrchestrationContext.CurrentUtcDateTime"/> has reached <paramref name="dueUtc"/>:
    /// a timer at the due time, then, if it fired early, one a second past it (whose truncated delay still ends at
    /// or after the due time), until the orchestration's clock has passed it. At most about a second late.
    /// </summary>
    public static Task CreateTimerNotBefore(this TaskOrchestrationContext context, DateTime dueUtc, CancellationToken cancellationToken = default) =>
        context.CreateTimerNotBefore(dueUtc, MaxTimerInterval, cancellationToken);

    /// <summary>As above, with waits longer than <paramref name="maxInterval"/> chained as several timers.</summary>
    public static async Task CreateTimerNotBefore(this TaskOrchestrationContext context, DateTime dueUtc, TimeSpan maxInterval, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInterval, TimeSpan.FromSeconds(1));
        var due = DateTime.SpecifyKind(dueUtc, DateTimeKind.Utc);
        var early = false;
        while (context.CurrentUtcDateTime < due)
        {
            var now = context.CurrentUtcDateTime;
            var fireAt = early ? due.AddSeconds(1) : due;
            if (fireAt - now > maxInterval)
            {
                fireAt = now + maxInterval;
            }
            else
            {
                early = true;
            }

            await context.CreateTimer(fireAt, cancellationToken);
        }
    }

    /// <summary>As <see cref="CreateTimerNotBefore(TaskOrchestrationContext, DateTime, CancellationToken)"/>, <paramref name="delay"/> after now.</summary>
    public static Task CreateTimerNotBefore(this TaskOrchestrationContext context, TimeSpan delay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.CreateTimerNotBefore(context.CurrentUtcDateTime.Add(delay), cancellationToken);
    }
}
