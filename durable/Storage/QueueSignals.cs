using System.Collections.Concurrent;

namespace EnvFabric.Durable.Storage;

/// <summary>
/// Wakes a queue's poller in this process when this process enqueues to that queue, so a local send is picked
/// up at once instead of after the poller's backoff (DTFx resets its backoff the same way).
/// </summary>
internal sealed class QueueSignals
{
    private readonly ConcurrentDictionary<string, AsyncSignal> _signals = new(StringComparer.Ordinal);

    public AsyncSignal For(string queueName) => _signals.GetOrAdd(queueName, _ => new AsyncSignal());

    public void Set(string queueName) => For(queueName).Set();
}

/// <summary>An auto-reset event that can be awaited with a timeout.</summary>
internal sealed class AsyncSignal
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set()
    {
        lock (_lock)
        {
            _tcs.TrySetResult();
        }
    }

    /// <summary>Waits for a signal or the timeout; returns true when signalled. Resets the signal.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task task;
        lock (_lock)
        {
            task = _tcs.Task;
        }

        var signalled = false;
        try
        {
            await task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            signalled = true;
        }
        catch (TimeoutException)
        {
        }

        lock (_lock)
        {
            if (_tcs.Task.IsCompleted)
            {
                _tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                signalled = true;
            }
        }

        return signalled;
    }
}
