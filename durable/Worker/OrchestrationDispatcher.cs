using System.Collections.Concurrent;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues.Models;
using EnvFabric.Durable.Storage;
using Microsoft.Extensions.Logging;

namespace EnvFabric.Durable.Worker;

/// <summary>
/// Reads the control queues of the partitions this worker owns and runs orchestration episodes: replay the
/// history, apply the new events, checkpoint. One episode per instance at a time; up to
/// <see cref="DurableTaskOptions.MaxConcurrentOrchestrations"/> episodes at once.
/// </summary>
internal sealed class OrchestrationDispatcher : IDisposable
{
    /// <summary>A response whose scheduling event is not in history yet waits this long before it is retried.</summary>
    private static readonly TimeSpan DeferDelay = TimeSpan.FromSeconds(1);

    /// <summary>A client start whose Instances row is not written yet is retried for this long, then run anyway.</summary>
    private static readonly TimeSpan StartRowGrace = TimeSpan.FromSeconds(30);

    private readonly TaskHubStorage _storage;
    private readonly TaskRegistry _registry;
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly DurableTaskOptions _options;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<string, InstanceSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, (CancellationTokenSource Cts, Task Loop)> _listeners = new();
    private readonly ConcurrentDictionary<Task, bool> _episodes = new();

    /// <summary>
    /// Histories this worker wrote last, by instance: while it owns the partition it is the only writer, so the next
    /// episode needs no table read (a partition query, a full scan on Azurite). A stale entry cannot corrupt
    /// anything: the checkpoint is conditional on the sentinel's ETag. Entries go when the partition does.
    /// </summary>
    private readonly ConcurrentDictionary<string, (HistoryState State, int Partition)> _historyCache = new(StringComparer.Ordinal);

    /// <summary>Instances whose next episode must read history (after a conflict).</summary>
    private readonly ConcurrentDictionary<string, bool> _mustRead = new(StringComparer.Ordinal);

    private const int HistoryCacheCapacity = 20_000;
    private CancellationToken _stopping;

    public OrchestrationDispatcher(TaskHubStorage storage, TaskRegistry registry, IServiceProvider services, ILoggerFactory loggerFactory)
    {
        _storage = storage;
        _registry = registry;
        _services = services;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("EnvFabric.Durable.Worker");
        _options = storage.Options;
        _slots = new SemaphoreSlim(_options.MaxConcurrentOrchestrations, _options.MaxConcurrentOrchestrations);
    }

    public void Initialize(CancellationToken stopping) => _stopping = stopping;

    public void Dispose()
    {
        _slots.Dispose();
        foreach (var listener in _listeners.Values)
        {
            listener.Cts.Dispose();
        }
    }

    public Task StartPartitionAsync(int partition, CancellationToken cancellationToken)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
        var loop = Task.Run(() => ListenAsync(partition, cts.Token), CancellationToken.None);
        _listeners[partition] = (cts, loop);
        return Task.CompletedTask;
    }

    public async Task StopPartitionAsync(int partition)
    {
        if (!_listeners.TryRemove(partition, out var listener))
        {
            return;
        }

        await listener.Cts.CancelAsync().ConfigureAwait(false);
        await listener.Loop.ConfigureAwait(false);

        // Running episodes of the partition finish their checkpoint (conditional on the sentinel) before the lease goes.
        var running = _sessions.Values.Where(s => s.Partition == partition).ToArray();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (running.Any(s => { lock (s.Sync) { return s.Running; } }) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, CancellationToken.None).ConfigureAwait(false);
        }

        foreach (var cached in _historyCache.Where(c => c.Value.Partition == partition).ToArray())
        {
            _historyCache.TryRemove(cached);
        }

        foreach (var session in running)
        {
            lock (session.Sync)
            {
                if (!session.Running)
                {
                    session.Removed = true;
                    session.Reset();
                    _sessions.TryRemove(new KeyValuePair<string, InstanceSession>(session.InstanceId, session));
                }
            }
        }

        listener.Cts.Dispose();
    }

    public async Task StopAllAsync()
    {
        foreach (var partition in _listeners.Keys.ToArray())
        {
            await StopPartitionAsync(partition).ConfigureAwait(false);
        }

        await Task.WhenAll(_episodes.Keys.ToArray()).ConfigureAwait(false);
    }

    /// <summary>Drops extended sessions idle for longer than the idle timeout.</summary>
    public void SweepIdleSessions()
    {
        var cutoff = DateTime.UtcNow - _options.ExtendedSessionIdleTimeout;
        foreach (var session in _sessions.Values)
        {
            lock (session.Sync)
            {
                if (!session.Running && session.Pending.Count == 0 && session.LastActive < cutoff)
                {
                    if (session.History is { } idle && !IsFinished(idle))
                    {
                        CacheHistory(session.InstanceId, session.Partition, idle);
                    }

                    session.Removed = true;
                    session.Reset();
                    _sessions.TryRemove(new KeyValuePair<string, InstanceSession>(session.InstanceId, session));
                }
            }
        }
    }

    private async Task ListenAsync(int partition, CancellationToken token)
    {
        var queue = _storage.ControlQueues[partition];
        var signal = _storage.Signals.For(queue.Name);
        var backoff = new PollingBackoff(_options.MaxQueuePollingInterval);
        while (!token.IsCancellationRequested)
        {
            try
            {
                // Back-pressure: do not pull more than the episodes can absorb.
                if (_episodes.Count >= _options.MaxConcurrentOrchestrations * 2)
                {
                    await Task.Delay(10, token).ConfigureAwait(false);
                    continue;
                }

                var messages = (await queue.ReceiveMessagesAsync(_options.ControlQueueBatchSize, _options.ControlQueueVisibilityTimeout, token).ConfigureAwait(false)).Value;
                if (messages.Length == 0)
                {
                    if (await signal.WaitAsync(backoff.Next(), token).ConfigureAwait(false))
                    {
                        backoff.Reset();
                    }

                    continue;
                }

                backoff.Reset();
                var parsed = await Task.WhenAll(messages.Select(m => ParseAsync(queue, m, token))).ConfigureAwait(false);
                foreach (var group in parsed.OfType<ReceivedMessage>().GroupBy(m => m.Message.InstanceId!))
                {
                    Enqueue(group.Key, partition, group, token);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                _logger.PollFailed(ex, queue.Name);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private async Task<ReceivedMessage?> ParseAsync(Azure.Storage.Queues.QueueClient queue, QueueMessage message, CancellationToken token)
    {
        try
        {
            var parsed = await _storage.ReadMessageAsync(message, token).ConfigureAwait(false);
            if (parsed.InstanceId is null || parsed.Event is null)
            {
                throw new InvalidDataException("Control message without instance id or event");
            }

            parsed.Event.MessageId = message.MessageId;
            return new ReceivedMessage(queue, message.MessageId, message.PopReceipt, parsed, message.InsertedOn, message.DequeueCount);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or RequestFailedException { Status: 404 })
        {
            _logger.BadMessage(ex, message.MessageId);
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, token).ConfigureAwait(false);
            return null;
        }
    }

    private void Enqueue(string instanceId, int partition, IEnumerable<ReceivedMessage> messages, CancellationToken partitionToken, bool requeue = false)
    {
        var list = messages.ToList();
        while (true)
        {
            var session = _sessions.GetOrAdd(instanceId, id => new InstanceSession(id, partition, partitionToken));
            lock (session.Sync)
            {
                if (session.Removed || session.PartitionToken != partitionToken)
                {
                    if (!session.Running)
                    {
                        session.Removed = true;
                        _sessions.TryRemove(new KeyValuePair<string, InstanceSession>(instanceId, session));
                        continue;
                    }

                    if (session.Removed)
                    {
                        continue;
                    }
                }

                foreach (var message in list)
                {
                    var receipt = message.PopReceipt;
                    if (session.Receipts.ContainsKey(message.MessageId) && !requeue)
                    {
                        // Reappeared while held: only the newest receipt can delete it.
                        session.Receipts[message.MessageId] = receipt;
                        continue;
                    }

                    session.Receipts.TryAdd(message.MessageId, receipt);
                    session.Pending.Add(message);
                }

                if (!session.Running && session.Pending.Count > 0)
                {
                    session.Running = true;
                    var episode = Task.Run(() => RunSessionAsync(session), CancellationToken.None);
                    _episodes[episode] = true;
                    _ = episode.ContinueWith(t => _episodes.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }

                return;
            }
        }
    }

    private async Task RunSessionAsync(InstanceSession session)
    {
        while (true)
        {
            List<ReceivedMessage> batch;
            lock (session.Sync)
            {
                if (session.Pending.Count == 0 || session.PartitionToken.IsCancellationRequested || _stopping.IsCancellationRequested)
                {
                    session.Running = false;
                    session.LastActive = DateTime.UtcNow;
                    if (session.PartitionToken.IsCancellationRequested || _stopping.IsCancellationRequested)
                    {
                        // Not ours any more: held messages reappear after their visibility timeout for the new owner.
                        session.Pending.Clear();
                        session.Receipts.Clear();
                    }

                    if (!_options.ExtendedSessionsEnabled || session.PartitionToken.IsCancellationRequested)
                    {
                        if (!session.PartitionToken.IsCancellationRequested && session.History is { } idle && !IsFinished(idle))
                        {
                            CacheHistory(session.InstanceId, session.Partition, idle);
                        }

                        session.Removed = true;
                        session.Reset();
                        _sessions.TryRemove(new KeyValuePair<string, InstanceSession>(session.InstanceId, session));
                    }

                    return;
                }

                batch = session.Pending;
                session.Pending = [];
            }

            try
            {
                await _slots.WaitAsync(_stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                continue;
            }

            try
            {
                await ExecuteEpisodeAsync(session, batch, _stopping).ConfigureAwait(false);
            }
            catch (CheckpointConflictException)
            {
                _logger.CheckpointConflict(session.InstanceId);
                _mustRead[session.InstanceId] = true;
                _historyCache.TryRemove(session.InstanceId, out _);
                session.Reset();
                await AbandonAsync(session, batch, DeferDelay).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                session.Reset();
            }
            catch (Exception ex)
            {
                _logger.EpisodeFailed(ex, session.InstanceId);
                _mustRead[session.InstanceId] = true;
                _historyCache.TryRemove(session.InstanceId, out _);
                session.Reset();
                await AbandonAsync(session, batch, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            finally
            {
                _slots.Release();
            }
        }
    }

    private async Task ExecuteEpisodeAsync(InstanceSession session, List<ReceivedMessage> batch, CancellationToken ct)
    {
        var instanceId = session.InstanceId;
        if (session.History is null)
        {
            session.Executor?.Dispose();
            session.Executor = null;
            if (!_mustRead.ContainsKey(instanceId) && _historyCache.TryRemove(instanceId, out var cached))
            {
                session.History = cached.State;
            }
            else if (!_mustRead.ContainsKey(instanceId) && batch.Any(m => m.Message.Event!.EventType == EventType.ExecutionStarted))
            {
                // A start message almost always means a new instance: assume no history and let the sentinel's
                // Add fail if there is one (a reused id), which forces a read on the retry.
                session.History = new HistoryState();
            }
            else
            {
                session.History = await _storage.ReadHistoryAsync(instanceId, ct).ConfigureAwait(false);
            }
        }

        var history = session.History;
        var now = DateTime.UtcNow;
        var consumed = new List<ReceivedMessage>();
        var deferred = new List<(ReceivedMessage Message, TimeSpan Delay)>();
        var rearmed = new List<(TaskMessage Message, TimeSpan Delay)>();
        var retryInMemory = new List<ReceivedMessage>();
        var newEvents = new List<HistoryEvent>();
        HistoryEvent? startedNow = null;
        TableEntity? instanceRow = null;
        var instanceRowRead = false;

        var seenMessages = new HashSet<string>(history.Events.Where(e => e.MessageId is not null).Select(e => e.MessageId!), StringComparer.Ordinal);
        var scheduled = new HashSet<int>(history.Events.Where(e => e.IsScheduling).Select(e => e.EventId));
        var answered = new HashSet<int>(history.Events.Where(e => e.IsResponse && e.TaskScheduledId is not null).Select(e => e.TaskScheduledId!.Value));

        // Start messages first, so a start and the events raised right after it can share one episode.
        foreach (var received in batch.OrderBy(m => m.Message.Event!.EventType == EventType.ExecutionStarted ? 0 : 1))
        {
            var message = received.Message;
            var e = message.Event!;
            if (seenMessages.Contains(received.MessageId))
            {
                // Redelivered after its episode was checkpointed but before the delete: already applied once.
                Drop(received, "already in history");
                continue;
            }

            if (e.EventType == EventType.ExecutionStarted)
            {
                if (history.ExecutionId == message.ExecutionId)
                {
                    Drop(received, "duplicate start");
                    continue;
                }

                if (e.ScheduledStartTime is { } startAt && startAt > now + TimeSpan.FromMilliseconds(50))
                {
                    // A delayed start longer than the queue's visibility limit came back early: wait again.
                    var wait = TimeSpan.FromSeconds(Math.Ceiling((startAt - now).TotalSeconds));
                    deferred.Add((received, wait > TaskHubStorage.MaxVisibilityDelay ? TaskHubStorage.MaxVisibilityDelay : wait));
                    continue;
                }

                if (e.FromClient == true)
                {
                    instanceRow = await ReadRowAsync().ConfigureAwait(false);
                    var rowExecution = instanceRow?.GetString("ExecutionId");
                    if (rowExecution is null)
                    {
                        if (Age(received) < StartRowGrace)
                        {
                            // The client sends the message before it writes the row; wait for the row. The message
                            // stays invisible meanwhile, so it is retried from memory, without a queue round trip.
                            retryInMemory.Add(received);
                            continue;
                        }
                    }
                    else if (rowExecution != message.ExecutionId)
                    {
                        Drop(received, "start superseded (its Instances row names another execution)");
                        continue;
                    }
                }
                else if (history.ExecutionId is not null && !IsFinished(history) && startedNow is null)
                {
                    Drop(received, "instance id in use by a running instance");
                    continue;
                }

                // A new execution replaces the current history: the sentinel's ETag still guards the write.
                session.Executor?.Dispose();
                session.Executor = null;
                history = session.History = new HistoryState { SentinelETag = history.SentinelETag, ExecutionId = message.ExecutionId };
                seenMessages.Clear();
                scheduled.Clear();
                answered.Clear();
                newEvents.Clear();
                e.ExecutionId = message.ExecutionId;
                startedNow = e;
                newEvents.Add(e);
                foreach (var carried in message.Carryover ?? [])
                {
                    newEvents.Add(carried);
                }

                consumed.Add(received);
                continue;
            }

            if (history.ExecutionId is null && startedNow is null)
            {
                // Not started: a delayed start (StartAt) or a start still in flight keeps its early events.
                instanceRow = await ReadRowAsync().ConfigureAwait(false);
                if (instanceRow is not null && instanceRow.GetString("RuntimeStatus") == nameof(OrchestrationRuntimeStatus.Pending))
                {
                    var startAt = instanceRow.GetDateTimeOffset("ScheduledStartTime");
                    var wait = startAt is { } at && at > DateTimeOffset.UtcNow ? at - DateTimeOffset.UtcNow + DeferDelay : DeferDelay;
                    deferred.Add((received, wait > TaskHubStorage.MaxVisibilityDelay ? TaskHubStorage.MaxVisibilityDelay : wait));
                }
                else if (instanceRow is null && Age(received) < StartRowGrace)
                {
                    deferred.Add((received, DeferDelay));
                }
                else
                {
                    Drop(received, "instance not found");
                }

                continue;
            }

            if (startedNow is null && IsFinished(history))
            {
                if (history.Events.Any(e => e.EventType == EventType.ExecutionCompleted && e.OrchestrationStatus == OrchestrationRuntimeStatus.ContinuedAsNew)
                    && message.ExecutionId is null)
                {
                    // The next execution's start message is on its way; the event belongs to it.
                    deferred.Add((received, DeferDelay));
                }
                else
                {
                    Drop(received, "instance already finished");
                }

                continue;
            }

            if (message.ExecutionId is { } execution && execution != history.ExecutionId)
            {
                Drop(received, "for an earlier execution");
                continue;
            }

            if (e.IsResponse)
            {
                var id = e.TaskScheduledId ?? -1;
                if (answered.Contains(id))
                {
                    Drop(received, "duplicate response");
                    continue;
                }

                if (!scheduled.Contains(id))
                {
                    // The sender's history write may still be in flight (messages go out before history): retry later.
                    deferred.Add((received, DeferDelay));
                    continue;
                }

                if (e.EventType == EventType.TimerFired && e.FireAt is { } fireAt && fireAt > now + TimeSpan.FromMilliseconds(100))
                {
                    // A timer farther than the queue's 7-day visibility came back early: arm it again for the rest.
                    rearmed.Add((new TaskMessage { InstanceId = instanceId, ExecutionId = message.ExecutionId, Event = CloneForSend(e) }, fireAt - now));
                    consumed.Add(received);
                    continue;
                }

                answered.Add(id);
            }

            newEvents.Add(e);
            consumed.Add(received);
        }

        if (newEvents.Count == 0)
        {
            await Task.WhenAll(rearmed.Select(r => _storage.SendControlAsync(r.Message, r.Delay, ct))).ConfigureAwait(false);
            await FinishMessagesAsync(session, consumed, deferred).ConfigureAwait(false);
            RetryLater(session, retryInMemory);
            return;
        }

        // ---- Run the orchestrator: replay what history holds, then the episode's new events. ----
        var executor = session.Executor;
        if (executor is null)
        {
            executor = new OrchestrationExecutor(instanceId, _registry, _services, _loggerFactory, _options.SerializerOptions);
            foreach (var past in history.Events)
            {
                executor.Apply(past, replaying: true);
            }

            session.Executor = executor;
        }

        var wasCustomStatus = executor.CustomStatus;
        executor.CustomStatusChanged = false;
        var appended = new List<HistoryEvent> { new() { EventType = EventType.OrchestratorStarted, Timestamp = now, IsPlayed = true } };
        executor.Apply(appended[0], replaying: false);
        foreach (var e in newEvents)
        {
            e.IsPlayed = true;
            if (e.Timestamp == default)
            {
                e.Timestamp = now;
            }

            appended.Add(e);
            executor.Apply(e, replaying: false);
        }

        var outbound = new List<(TaskMessage Message, TimeSpan? Delay, bool WorkItem)>();
        var executionId = history.ExecutionId!;
        foreach (var action in executor.TakeNewActions())
        {
            var recorded = new HistoryEvent { EventType = action.Type, EventId = action.Id, Timestamp = now, Name = action.Name, Input = action.Input, InstanceId = action.InstanceId, FireAt = action.FireAt, IsPlayed = true };
            appended.Add(recorded);
            switch (action.Type)
            {
                case EventType.TaskScheduled:
                    outbound.Add((new TaskMessage { InstanceId = instanceId, ExecutionId = executionId, Event = CloneForSend(recorded) }, null, true));
                    break;
                case EventType.TimerCreated:
                    var fire = new HistoryEvent { EventType = EventType.TimerFired, TaskScheduledId = action.Id, FireAt = action.FireAt, Timestamp = action.FireAt!.Value };
                    outbound.Add((new TaskMessage { InstanceId = instanceId, ExecutionId = executionId, Event = fire }, action.FireAt.Value - now, false));
                    break;
                case EventType.SubOrchestrationInstanceCreated:
                    var childExecution = Guid.NewGuid().ToString("N");
                    var start = new HistoryEvent
                    {
                        EventType = EventType.ExecutionStarted,
                        Timestamp = now,
                        Name = action.Name,
                        Input = action.Input,
                        ExecutionId = childExecution,
                        ParentInstanceId = instanceId,
                        ParentExecutionId = executionId,
                        ParentName = executor.Name,
                        ParentTaskScheduledId = action.Id,
                        FromClient = false,
                    };
                    outbound.Add((new TaskMessage { InstanceId = action.InstanceId, ExecutionId = childExecution, Event = start }, null, false));
                    break;
                case EventType.EventSent:
                    outbound.Add((new TaskMessage { InstanceId = action.InstanceId, Event = new HistoryEvent { EventType = EventType.EventRaised, Name = action.Name, Input = action.Input, Timestamp = now } }, null, false));
                    break;
            }
        }

        var status = executor.Status;
        var finished = executor.IsFinished;
        string? output = null;
        if (finished)
        {
            output = status == OrchestrationRuntimeStatus.Failed
                ? JsonSerializer.Serialize(executor.Failure, _options.SerializerOptions)
                : executor.Output;
            appended.Add(new HistoryEvent
            {
                EventType = EventType.ExecutionCompleted,
                Timestamp = now,
                OrchestrationStatus = status,
                Result = status == OrchestrationRuntimeStatus.ContinuedAsNew ? executor.ContinuedAsNew?.Input : output,
                FailureDetails = executor.Failure,
                IsPlayed = true,
            });
            var started = executor.Started;
            if (status == OrchestrationRuntimeStatus.ContinuedAsNew && started is not null)
            {
                var nextExecution = Guid.NewGuid().ToString("N");
                var restart = new HistoryEvent
                {
                    EventType = EventType.ExecutionStarted,
                    Timestamp = now,
                    Name = started.Name,
                    Input = executor.ContinuedAsNew!.Value.Input,
                    ExecutionId = nextExecution,
                    ParentInstanceId = started.ParentInstanceId,
                    ParentExecutionId = started.ParentExecutionId,
                    ParentName = started.ParentName,
                    ParentTaskScheduledId = started.ParentTaskScheduledId,
                    FromClient = false,
                };
                outbound.Add((new TaskMessage { InstanceId = instanceId, ExecutionId = nextExecution, Event = restart, Carryover = executor.ContinuedAsNew.Value.Carryover }, null, false));
            }
            else if (started?.ParentInstanceId is { } parent)
            {
                var reply = status == OrchestrationRuntimeStatus.Completed
                    ? new HistoryEvent { EventType = EventType.SubOrchestrationInstanceCompleted, Result = output }
                    : new HistoryEvent
                    {
                        EventType = EventType.SubOrchestrationInstanceFailed,
                        FailureDetails = executor.Failure ?? new TaskFailureDetails("Terminated", $"Sub-orchestration '{instanceId}' was terminated: {output}"),
                    };
                reply.TaskScheduledId = started.ParentTaskScheduledId;
                reply.Timestamp = now;
                outbound.Add((new TaskMessage { InstanceId = parent, ExecutionId = started.ParentExecutionId, Event = reply }, null, false));
            }
        }

        appended.Add(new HistoryEvent { EventType = EventType.OrchestratorCompleted, Timestamp = now, IsPlayed = true });

        // ---- Checkpoint, in DTFx's order. ----
        // 1. Outbound messages first. If this worker dies after sending and before step 2, the episode runs again
        //    and sends again: activities run at least once, and a response that arrives before its scheduling
        //    event is in history is deferred until it is.
        await Task.WhenAll(outbound.Select(o => o.WorkItem
                ? _storage.SendWorkItemAsync(o.Message, ct)
                : _storage.SendControlAsync(o.Message, o.Delay, ct))
            .Concat(rearmed.Select(r => _storage.SendControlAsync(r.Message, r.Delay, ct)))).ConfigureAwait(false);

        // 2. History, conditional on the sentinel's ETag: a second writer (a worker that took the partition over)
        //    gets a conflict and abandons its work item, so state changes take effect once.
        history.SentinelETag = await _storage.AppendHistoryAsync(instanceId, executionId, appended, history.Events.Count, history.SentinelETag, finished, ct).ConfigureAwait(false);
        history.Events.AddRange(appended);
        _mustRead.TryRemove(instanceId, out _);

        // 3. The Instances row, which clients read.
        var row = new TableEntity(KeySanitizer.EscapePartitionKey(instanceId), "")
        {
            ["RuntimeStatus"] = status.ToString(),
            ["LastUpdatedTime"] = now,
            ["ExecutionId"] = executionId,
            ["Name"] = executor.Name ?? "",
            ["TaskHubName"] = _storage.HubName,
        };
        if (startedNow is not null)
        {
            row["Input"] = startedNow.Input;
            row["Output"] = null;
            row["CompletedTime"] = null;
            if (startedNow.FromClient != true)
            {
                row["CreatedTime"] = startedNow.Timestamp;
            }
        }

        if (executor.CustomStatusChanged || executor.CustomStatus != wasCustomStatus || startedNow is not null)
        {
            row["CustomStatus"] = executor.CustomStatus;
        }

        if (finished)
        {
            row["Output"] = status == OrchestrationRuntimeStatus.ContinuedAsNew ? null : output;
            row["CompletedTime"] = status == OrchestrationRuntimeStatus.ContinuedAsNew ? null : now;
        }

        await _storage.WriteInstanceAsync(row, null, add: false, ct).ConfigureAwait(false);

        // 4. Delete the consumed messages. A crash before this redelivers them; their MessageId is in history now,
        //    so they are dropped instead of applied twice.
        await FinishMessagesAsync(session, consumed, deferred).ConfigureAwait(false);
        RetryLater(session, retryInMemory);

        _logger.EpisodeCompleted(instanceId, newEvents.Count, status);
        if (finished)
        {
            if (status != OrchestrationRuntimeStatus.ContinuedAsNew)
            {
                _logger.InstanceFinished(instanceId, executor.Name ?? "", status);
            }

            session.Executor = null;
            executor.Dispose();
        }
        else if (!_options.ExtendedSessionsEnabled)
        {
            session.Executor = null;
            executor.Dispose();
        }

        void Drop(ReceivedMessage received, string reason)
        {
            _logger.MessageDropped(instanceId, received.Message.Event!.EventType, reason);
            consumed.Add(received);
        }

        async Task<TableEntity?> ReadRowAsync()
        {
            if (!instanceRowRead)
            {
                instanceRow = await _storage.ReadInstanceAsync(instanceId, ct).ConfigureAwait(false);
                instanceRowRead = true;
            }

            return instanceRow;
        }
    }

    private void RetryLater(InstanceSession session, List<ReceivedMessage> messages)
    {
        if (messages.Count == 0)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), session.PartitionToken).ConfigureAwait(false);
                Enqueue(session.InstanceId, session.Partition, messages, session.PartitionToken, requeue: true);
            }
            catch (OperationCanceledException)
            {
                // The partition moved: the messages reappear for the new owner after their visibility timeout.
            }
        }, CancellationToken.None);
    }

    private void CacheHistory(string instanceId, int partition, HistoryState history)
    {
        if (_historyCache.Count >= HistoryCacheCapacity)
        {
            // Crude eviction: drop an arbitrary tenth; a miss only costs a table read.
            foreach (var key in _historyCache.Keys.Take(HistoryCacheCapacity / 10).ToArray())
            {
                _historyCache.TryRemove(key, out _);
            }
        }

        _historyCache[instanceId] = (history, partition);
    }

    private static TimeSpan Age(ReceivedMessage received) =>
        received.InsertedOn is { } inserted ? DateTimeOffset.UtcNow - inserted : DateTime.UtcNow - received.Message.SentAt;

    private static bool IsFinished(HistoryState history) =>
        history.Events.Any(e => e.EventType == EventType.ExecutionCompleted);

    private static HistoryEvent CloneForSend(HistoryEvent e)
    {
        var copy = e.Clone();
        copy.MessageId = null;
        copy.IsPlayed = false;
        return copy;
    }

    private static async Task FinishMessagesAsync(InstanceSession session, List<ReceivedMessage> consumed, List<(ReceivedMessage Message, TimeSpan Delay)> deferred)
    {
        var tasks = new List<Task>();
        foreach (var message in consumed)
        {
            tasks.Add(DeleteAsync(session, message));
        }

        foreach (var (message, delay) in deferred)
        {
            tasks.Add(DeferAsync(session, message, delay));
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private static async Task AbandonAsync(InstanceSession session, List<ReceivedMessage> batch, TimeSpan delay)
    {
        try
        {
            await Task.WhenAll(batch.Select(m => DeferAsync(session, m, delay))).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RequestFailedException or OperationCanceledException)
        {
            // The messages reappear after their visibility timeout anyway.
        }
    }

    private static async Task DeleteAsync(InstanceSession session, ReceivedMessage message)
    {
        string? receipt;
        lock (session.Sync)
        {
            session.Receipts.Remove(message.MessageId, out receipt);
        }

        try
        {
            await message.Queue.DeleteMessageAsync(message.MessageId, receipt ?? "", CancellationToken.None).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 400)
        {
            // Already gone, or reappeared and was taken by another worker, which will drop it by its MessageId.
        }
    }

    private static async Task DeferAsync(InstanceSession session, ReceivedMessage message, TimeSpan delay)
    {
        string? receipt;
        lock (session.Sync)
        {
            session.Receipts.Remove(message.MessageId, out receipt);
        }

        try
        {
            await message.Queue.UpdateMessageAsync(message.MessageId, receipt ?? "", visibilityTimeout: delay, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 400)
        {
            // Reappeared already; it will be received again.
        }
    }
}
