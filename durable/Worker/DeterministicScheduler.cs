using System.Collections.Concurrent;

namespace EnvFabric.Durable.Worker;

/// <summary>
/// Runs orchestrator code on the executor's thread only, one continuation at a time, in the order the durable
/// tasks complete: awaits inside an orchestrator capture this scheduler, and nothing runs until
/// <see cref="Drain"/>. That is what makes replay deterministic.
/// </summary>
internal sealed class DeterministicScheduler : TaskScheduler
{
    private readonly ConcurrentQueue<Task> _queue = new();

    public override int MaximumConcurrencyLevel => 1;

    public Task<T> Run<T>(Func<Task<T>> body) =>
        Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.None, this).Unwrap();

    /// <summary>Runs queued continuations until the orchestrator is blocked on durable tasks again.</summary>
    public void Drain()
    {
        while (_queue.TryDequeue(out var task))
        {
            TryExecuteTask(task);
        }
    }

    protected override void QueueTask(Task task) => _queue.Enqueue(task);

    // Never inline: a continuation must not run inside the code that completed its task.
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

    protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();
}
