namespace EnvFabric.Core.Tasks;

/// <summary>Outcome of an optimistic write.</summary>
public enum TaskSaveOutcome
{
    /// <summary>Written.</summary>
    Saved,

    /// <summary>The row changed since it was read (or the key is taken).</summary>
    Conflict,

    /// <summary>The row does not exist.</summary>
    NotFound,
}

/// <summary>The tasks, their name index, the id counter and the executions.</summary>
public interface ITaskRepository
{
    /// <summary>Creates the tables when missing.</summary>
    Task EnsureCreatedAsync(CancellationToken cancellationToken = default);

    /// <summary>The next task id: an optimistic counter row, so hosts never hand out the same id.</summary>
    Task<long> AllocateIdAsync(CancellationToken cancellationToken = default);

    /// <summary>Claims <paramref name="name"/> for <paramref name="taskId"/>; false when another task holds it.</summary>
    Task<bool> ReserveNameAsync(string name, long taskId, CancellationToken cancellationToken = default);

    /// <summary>Frees <paramref name="name"/> if <paramref name="taskId"/> holds it.</summary>
    Task ReleaseNameAsync(string name, long taskId, CancellationToken cancellationToken = default);

    /// <summary>The task holding <paramref name="name"/>, if any.</summary>
    Task<long?> FindByNameAsync(string name, CancellationToken cancellationToken = default);

    Task<TaskRecord?> GetAsync(long taskId, CancellationToken cancellationToken = default);

    /// <summary>Claims seed 002's <paramref name="uuid"/> for <paramref name="taskId"/>; false when another task holds it.</summary>
    Task<bool> ReserveUuidAsync(string uuid, long taskId, CancellationToken cancellationToken = default);

    /// <summary>Frees <paramref name="uuid"/> if <paramref name="taskId"/> holds it.</summary>
    Task ReleaseUuidAsync(string uuid, long taskId, CancellationToken cancellationToken = default);

    /// <summary>The task holding <paramref name="uuid"/>, if any.</summary>
    Task<long?> FindByUuidAsync(string uuid, CancellationToken cancellationToken = default);

    /// <summary>An execution by its id alone (seed 002's <c>run_id</c>), through the index written when it was first recorded.</summary>
    Task<ExecutionRecord?> FindExecutionAsync(string executionId, CancellationToken cancellationToken = default);

    /// <summary>Inserts a new task; <see cref="TaskSaveOutcome.Conflict"/> when the id exists.</summary>
    Task<(TaskSaveOutcome Outcome, TaskRecord? Saved)> AddAsync(TaskRecord task, CancellationToken cancellationToken = default);

    /// <summary>Replaces the task if its <see cref="TaskRecord.ETag"/> still matches (null ETag: unconditionally).</summary>
    Task<(TaskSaveOutcome Outcome, TaskRecord? Saved)> UpdateAsync(TaskRecord task, CancellationToken cancellationToken = default);

    /// <summary>Reads, applies <paramref name="change"/> and writes, retrying on conflicts; null from the change means no write.</summary>
    Task<TaskRecord?> MutateAsync(long taskId, Func<TaskRecord, TaskRecord?> change, CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(long taskId, CancellationToken cancellationToken = default);

    /// <summary>Every task in id order; <paramref name="ns"/> limits to one namespace.</summary>
    IAsyncEnumerable<TaskRecord> ListAsync(string? ns = null, CancellationToken cancellationToken = default);

    /// <summary>One page (1-based) of <see cref="ListAsync"/>, plus the total when <paramref name="withTotal"/>.</summary>
    Task<(IReadOnlyList<TaskRecord> Items, int? Total)> ListPageAsync(int page, int size, string? ns = null, bool withTotal = false, CancellationToken cancellationToken = default);

    /// <summary>Inserts or replaces an execution row; its first write (<c>queued</c> or <c>skipped</c>) also indexes its id for <see cref="FindExecutionAsync"/>.</summary>
    Task UpsertExecutionAsync(ExecutionRecord execution, CancellationToken cancellationToken = default);

    Task<ExecutionRecord?> GetExecutionAsync(long taskId, string executionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces an execution's tags alone (a merge of that one column, so a status the run records meanwhile is kept);
    /// false when the execution does not exist.
    /// </summary>
    Task<bool> SetExecutionTagsAsync(long taskId, string executionId, IReadOnlyList<string> tags, CancellationToken cancellationToken = default);

    /// <summary>A task's executions, oldest first.</summary>
    Task<IReadOnlyList<ExecutionRecord>> ListExecutionsAsync(long taskId, CancellationToken cancellationToken = default);

    /// <summary>Executions of every task queued at or after <paramref name="since"/>, oldest first within a task.</summary>
    IAsyncEnumerable<ExecutionRecord> ListExecutionsSinceAsync(DateTimeOffset since, CancellationToken cancellationToken = default);

    /// <summary>Executions of every task still <c>queued</c> or <c>running</c>, streamed page by page.</summary>
    IAsyncEnumerable<ExecutionRecord> ListUnfinishedExecutionsAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes a task's executions; returns how many.</summary>
    Task<int> DeleteExecutionsAsync(long taskId, CancellationToken cancellationToken = default);

    /// <summary>Deletes executions that ended before <paramref name="before"/>; returns them (for their logs).</summary>
    Task<IReadOnlyList<ExecutionRecord>> DeleteExecutionsEndedBeforeAsync(DateTimeOffset before, CancellationToken cancellationToken = default);
}
