using EnvFabric.Core.Configuration;
using EnvFabric.Core.Tasks;
using EnvFabric.Orchestrations.Tasks;

namespace EnvFabric.Functions.Tasks;

/// <summary>How a new task's creation ended.</summary>
public enum TaskCreationOutcome
{
    /// <summary>Stored, and its run or schedule started.</summary>
    Created,

    /// <summary>Another task holds the name; nothing was stored.</summary>
    NameTaken,

    /// <summary>Another task holds the uuid; nothing was stored.</summary>
    UuidTaken,
}

/// <summary>The outcome of <see cref="TaskCreation.CreateAsync"/>: the stored task and, for a task that runs at once, its run's instance id.</summary>
public sealed record TaskCreationResult(TaskCreationOutcome Outcome, TaskRecord? Task = null, string? RunInstanceId = null);

/// <summary>Who starts the first run, and the execution id its first attempt takes (null = made by the run).</summary>
public sealed record TaskCreationStart(string Who, string ClientIp, string? FirstExecutionId = null);

/// <summary>
/// The tail every dialect's create shares, once validation is done: allocate the id, reserve the name (and the
/// uuid), write the script directory, store the task, then start its run (no trigger) or its schedule. A failure
/// after a reservation releases it and removes the directory, so a refused or failed create leaves nothing behind.
/// </summary>
public sealed class TaskCreation(ITaskRepository tasks, TaskStarter starter, DataPaths paths)
{
    /// <summary>
    /// Creates <paramref name="draft"/> (its <see cref="TaskRecord.TaskId"/> is replaced by a new one);
    /// <paramref name="writeScripts"/> fills the task's script directory (given its absolute path) before the row is stored.
    /// </summary>
    public async Task<TaskCreationResult> CreateAsync(TaskRecord draft, Action<string>? writeScripts, TaskCreationStart start, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(start);
        var taskId = await tasks.AllocateIdAsync(cancellationToken).ConfigureAwait(false);
        if (!await tasks.ReserveNameAsync(draft.Name, taskId, cancellationToken).ConfigureAwait(false))
        {
            return new TaskCreationResult(TaskCreationOutcome.NameTaken);
        }

        if (draft.Uuid is { } uuid && !await tasks.ReserveUuidAsync(uuid, taskId, cancellationToken).ConfigureAwait(false))
        {
            await tasks.ReleaseNameAsync(draft.Name, taskId, CancellationToken.None).ConfigureAwait(false);
            return new TaskCreationResult(TaskCreationOutcome.UuidTaken);
        }

        var record = draft with { TaskId = taskId };
        var directory = Path.Combine(paths.DataRoot, TaskRecord.ScriptDirectoryOf(taskId));
        try
        {
            writeScripts?.Invoke(directory);
            var (outcome, saved) = await tasks.AddAsync(record, cancellationToken).ConfigureAwait(false);
            if (outcome != TaskSaveOutcome.Saved)
            {
                throw new InvalidOperationException($"task id {taskId} is taken");
            }

            record = saved!;
        }
        catch
        {
            await tasks.ReleaseNameAsync(draft.Name, taskId, CancellationToken.None).ConfigureAwait(false);
            if (draft.Uuid is { } reserved)
            {
                await tasks.ReleaseUuidAsync(reserved, taskId, CancellationToken.None).ConfigureAwait(false);
            }

            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }

            throw;
        }

        string? runId = null;
        if (record.Trigger.Kind == TriggerKind.Now)
        {
            runId = await starter.StartRunAsync(taskId, ExecutionTriggers.Manual, start.Who, start.ClientIp, start.FirstExecutionId, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await starter.EnsureScheduleAsync(record, cancellationToken).ConfigureAwait(false);
        }

        return new TaskCreationResult(TaskCreationOutcome.Created, record, runId);
    }
}
