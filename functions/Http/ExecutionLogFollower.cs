using System.Runtime.CompilerServices;
using Azure.Storage.Blobs;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Functions.Http;

/// <summary>One increment of a followed execution log: the new text (the end marker line left out) and whether the log has ended.</summary>
public sealed record LogIncrement(string Text, bool Ended);

/// <summary>
/// Follows an execution's log blob by offset, for the streams of <c>/api/tasks/{id}/executions/{eid}/logs</c> and
/// <c>/v2/instances/{runid}/logs</c>: first the whole log so far, then each increment as the runner appends it, then a
/// last increment with <see cref="LogIncrement.Ended"/> once the log's end marker is read or the execution has ended.
/// </summary>
public static class ExecutionLogFollower
{
    /// <summary>The increments of <paramref name="execution"/>'s log, reading it every <paramref name="pollInterval"/>.</summary>
    public static async IAsyncEnumerable<LogIncrement> FollowAsync(
        ITaskRepository tasks, BlobContainerClient container, ExecutionRecord execution, TimeSpan pollInterval, [EnumeratorCancellation] CancellationToken aborted)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(execution);
        long offset = 0;
        var first = true;
        var idleChecks = 0;
        while (!aborted.IsCancellationRequested)
        {
            var chunk = await RunnerLogs.ReadAsync(container, execution.LogBlob, offset, aborted).ConfigureAwait(false);
            offset = chunk.NextOffset;
            var ended = chunk.Complete;
            if (!ended && chunk.Text.Length == 0 && ++idleChecks % 10 == 0)
            {
                // No log growth for a while: has the execution ended without a (complete) log?
                var now = await tasks.GetExecutionAsync(execution.TaskId, execution.ExecutionId, aborted).ConfigureAwait(false);
                ended = now is null || (ExecutionStatuses.IsFinal(now.Status) && (await RunnerLogs.ReadAsync(container, execution.LogBlob, offset, aborted).ConfigureAwait(false)).Text.Length == 0);
            }

            if (first || chunk.Text.Length > 0 || ended)
            {
                yield return new LogIncrement(StripMarker(chunk.Text), ended);
                first = false;
            }

            if (ended)
            {
                yield break;
            }

            await Task.Delay(pollInterval, aborted).ConfigureAwait(false);
        }
    }

    /// <summary>The log without the runner's end-of-log marker line.</summary>
    public static string StripMarker(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var at = text.IndexOf(RunnerLogs.CompletionMarker, StringComparison.Ordinal);
        if (at < 0)
        {
            return text;
        }

        var end = text.IndexOf('\n', at);
        var before = text[..at];
        if (before.EndsWith('\n') && at > 0 && text.Length > at)
        {
            before = before[..^1];
        }

        return end < 0 ? before : before + text[(end + 1)..];
    }
}
