using System.Text.Json;
using EnvFabric.Durable.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EnvFabric.Durable.Worker;

/// <summary>
/// Runs activities from the work-item queue, which every worker reads, so activities spread over all hosts.
/// At most <see cref="DurableTaskOptions.MaxConcurrentActivities"/> run at once.
/// </summary>
internal sealed class ActivityDispatcher
{
    private readonly TaskHubStorage _storage;
    private readonly TaskRegistry _registry;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly DurableTaskOptions _options;

    public ActivityDispatcher(TaskHubStorage storage, TaskRegistry registry, IServiceProvider services, ILogger logger)
    {
        _storage = storage;
        _registry = registry;
        _services = services;
        _logger = logger;
        _options = storage.Options;
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        var queue = _storage.WorkItems;
        var signal = _storage.Signals.For(queue.Name);
        var backoff = new PollingBackoff(_options.MaxQueuePollingInterval);
        using var slots = new SemaphoreSlim(_options.MaxConcurrentActivities, _options.MaxConcurrentActivities);
        var running = new HashSet<Task>();
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                await slots.WaitAsync(stopping).ConfigureAwait(false);
                var taken = 1;
                while (taken < 32 && slots.Wait(0, CancellationToken.None))
                {
                    taken++;
                }

                Azure.Storage.Queues.Models.QueueMessage[] messages;
                try
                {
                    messages = (await queue.ReceiveMessagesAsync(taken, _options.WorkItemVisibilityTimeout, stopping).ConfigureAwait(false)).Value;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    slots.Release(taken);
                    _logger.PollFailed(ex, queue.Name);
                    await Task.Delay(TimeSpan.FromSeconds(1), stopping).ConfigureAwait(false);
                    continue;
                }

                if (taken > messages.Length)
                {
                    slots.Release(taken - messages.Length);
                }

                if (messages.Length == 0)
                {
                    if (await signal.WaitAsync(backoff.Next(), stopping).ConfigureAwait(false))
                    {
                        backoff.Reset();
                    }

                    continue;
                }

                backoff.Reset();
                foreach (var message in messages)
                {
                    var task = Task.Run(async () =>
                    {
                        try
                        {
                            await ExecuteAsync(message, stopping).ConfigureAwait(false);
                        }
                        finally
                        {
                            slots.Release();
                        }
                    }, CancellationToken.None);
                    lock (running)
                    {
                        running.Add(task);
                    }

                    _ = task.ContinueWith(t => { lock (running) { running.Remove(t); } }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }

        Task[] remaining;
        lock (running)
        {
            remaining = running.ToArray();
        }

        await Task.WhenAll(remaining).ConfigureAwait(false);
    }

    private async Task ExecuteAsync(Azure.Storage.Queues.Models.QueueMessage message, CancellationToken stopping)
    {
        var queue = _storage.WorkItems;
        var receipt = message.PopReceipt;
        try
        {
            var task = await _storage.ReadMessageAsync(message, stopping).ConfigureAwait(false);
            var scheduled = task.Event ?? throw new InvalidDataException("Activity message without an event");
            using var renewal = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            var renewLoop = RenewAsync();

            HistoryEvent response;
            try
            {
                response = await InvokeAsync(task.InstanceId!, scheduled, stopping).ConfigureAwait(false);
            }
            finally
            {
                await renewal.CancelAsync().ConfigureAwait(false);
                await renewLoop.ConfigureAwait(false);
            }

            if (stopping.IsCancellationRequested)
            {
                // Shutting down mid-activity: no response and no delete, so the message reappears and the activity
                // runs again on some worker (at least once).
                return;
            }

            response.TaskScheduledId = scheduled.EventId;
            response.Name = scheduled.Name;
            response.Timestamp = DateTime.UtcNow;
            // The response is sent before the work item is deleted: a crash in between runs the activity again
            // (at least once) and the orchestration drops the second response by its TaskScheduledId.
            await _storage.SendControlAsync(new TaskMessage { InstanceId = task.InstanceId, ExecutionId = task.ExecutionId, Event = response }, null, stopping).ConfigureAwait(false);
            await queue.DeleteMessageAsync(message.MessageId, receipt, CancellationToken.None).ConfigureAwait(false);

            async Task RenewAsync()
            {
                // Long activities keep their message invisible, so no other worker starts a second copy meanwhile.
                var period = _options.WorkItemVisibilityTimeout / 2;
                try
                {
                    while (true)
                    {
                        await Task.Delay(period, renewal.Token).ConfigureAwait(false);
                        var updated = await queue.UpdateMessageAsync(message.MessageId, receipt, visibilityTimeout: _options.WorkItemVisibilityTimeout, cancellationToken: renewal.Token).ConfigureAwait(false);
                        receipt = updated.Value.PopReceipt;
                    }
                }
                catch (OperationCanceledException)
                {
                }
                catch (Azure.RequestFailedException)
                {
                    // Lost the message (it reappeared elsewhere); the result is still sent, and duplicates are dropped.
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _logger.ActivityDispatchFailed(ex, message.MessageId);
        }
    }

    private async Task<HistoryEvent> InvokeAsync(string instanceId, HistoryEvent scheduled, CancellationToken stopping)
    {
        var name = scheduled.Name ?? "";
        var type = _registry.FindActivity(name);
        if (type is null)
        {
            return new HistoryEvent
            {
                EventType = EventType.TaskFailed,
                FailureDetails = new TaskFailureDetails(typeof(InvalidOperationException).FullName!, $"No activity named '{name}' is registered with this worker."),
            };
        }

        try
        {
            await using var scope = _services.CreateAsyncScope();
            var activity = (ITaskActivity)ActivatorUtilities.CreateInstance(scope.ServiceProvider, type);
            var context = new ActivityContext(name, instanceId, scheduled.Input, _options.SerializerOptions, stopping);
            var result = await activity.RunAsync(context).ConfigureAwait(false);
            return new HistoryEvent
            {
                EventType = EventType.TaskCompleted,
                Result = result is null ? null : JsonSerializer.Serialize(result, result.GetType(), _options.SerializerOptions),
            };
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested)
        {
            _logger.ActivityFailed(ex, name, instanceId);
            return new HistoryEvent { EventType = EventType.TaskFailed, FailureDetails = TaskFailureDetails.FromException(ex) };
        }
    }

    private sealed class ActivityContext(string name, string instanceId, string? input, JsonSerializerOptions json, CancellationToken cancellationToken) : TaskActivityContext
    {
        public override string Name => name;

        public override string InstanceId => instanceId;

        public override CancellationToken CancellationToken => cancellationToken;

        public override T? GetInput<T>() where T : default => input is null ? default : JsonSerializer.Deserialize<T>(input, json);
    }
}
