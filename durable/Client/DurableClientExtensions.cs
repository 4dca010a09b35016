using DurableTask.Core.Exceptions;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace EnvFabric.Durable.Client;

/// <summary>Starts that treat "already exists" as an answer rather than an error.</summary>
public static class DurableClientExtensions
{
    /// <summary>
    /// Starts <paramref name="name"/> as <paramref name="instanceId"/>; false when an unfinished instance with that
    /// id exists already (a repeated start of the same work: activities run at least once).
    /// </summary>
    public static async Task<bool> TryScheduleNewAsync(this DurableTaskClient client, TaskName name, string instanceId, object? input, DateTimeOffset? startAt = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(instanceId, startAt), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OrchestrationAlreadyExistsException)
        {
            return false;
        }
    }
}
