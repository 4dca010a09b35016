using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EnvFabric.Durable.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EnvFabric.Durable.Worker;

/// <summary>An action the orchestrator asked for in this episode, not yet in history.</summary>
internal sealed record OrchestratorAction(EventType Type, int Id, string? Name, string? Input, string? InstanceId, DateTime? FireAt);

/// <summary>
/// Drives one execution of an orchestrator: history events go in (replayed ones first, then the episode's new
/// ones); actions and the outcome come out. It is incremental, so an extended session keeps it alive and only
/// feeds the next episode's events instead of replaying everything again.
/// </summary>
internal sealed class OrchestrationExecutor : IDisposable
{
    private readonly TaskRegistry _registry;
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory _loggerFactory;
    private readonly DeterministicScheduler _scheduler = new();
    private readonly Context _context;
    private readonly List<HistoryEvent> _heldWhileSuspended = [];
    private IServiceScope? _scope;
    private Task<object?>? _run;

    public OrchestrationExecutor(string instanceId, TaskRegistry registry, IServiceProvider services, ILoggerFactory loggerFactory, JsonSerializerOptions json)
    {
        _registry = registry;
        _services = services;
        _loggerFactory = loggerFactory;
        _context = new Context(this, instanceId, json);
    }

    public string? Name => _context.NameOrNull;

    public string? SerializedInput { get; private set; }

    public HistoryEvent? Started { get; private set; }

    public OrchestrationRuntimeStatus Status { get; private set; } = OrchestrationRuntimeStatus.Pending;

    public bool IsFinished => Status is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed
        or OrchestrationRuntimeStatus.Terminated or OrchestrationRuntimeStatus.ContinuedAsNew;

    public string? Output { get; private set; }

    public TaskFailureDetails? Failure { get; private set; }

    public string? CustomStatus => _context.SerializedCustomStatus;

    public bool CustomStatusChanged { get; set; }

    /// <summary>For ContinuedAsNew: the new input and the events to carry over.</summary>
    public (string? Input, List<HistoryEvent> Carryover)? ContinuedAsNew { get; private set; }

    /// <summary>Applies one history event; <paramref name="replaying"/> is true for events already in history.</summary>
    public void Apply(HistoryEvent e, bool replaying)
    {
        if (Status == OrchestrationRuntimeStatus.ContinuedAsNew && e.EventType == EventType.EventRaised && _context.ContinueAsNewInput?.Preserve == true)
        {
            // Arrived in the same episode after the orchestrator continued as new: the next execution gets it.
            ContinuedAsNew!.Value.Carryover.Add(e);
            return;
        }

        if (Status is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated or OrchestrationRuntimeStatus.ContinuedAsNew)
        {
            return;
        }

        _context.Replaying = replaying;
        try
        {
            if (Status == OrchestrationRuntimeStatus.Suspended && e.EventType is not (EventType.ExecutionResumed or EventType.ExecutionTerminated or EventType.OrchestratorStarted or EventType.OrchestratorCompleted)
                && !e.IsScheduling)
            {
                // Held, in history order, until the instance is resumed: replay holds them at the same point.
                _heldWhileSuspended.Add(e);
                return;
            }

            Dispatch(e);
            _scheduler.Drain();
            CheckCompletion();
        }
        catch (NonDeterministicOrchestrationException ex)
        {
            Fail(TaskFailureDetails.FromException(ex));
        }
    }

    /// <summary>Takes the actions scheduled since the last call: they become history and outbound messages now.</summary>
    public List<OrchestratorAction> TakeNewActions()
    {
        var actions = _context.Pending.Values.ToList();
        _context.Pending.Clear();
        return actions;
    }

    public void Dispose()
    {
        _scope?.Dispose();
        _scope = null;
    }

    private void Dispatch(HistoryEvent e)
    {
        switch (e.EventType)
        {
            case EventType.OrchestratorStarted:
                _context.Now = DateTime.SpecifyKind(e.Timestamp, DateTimeKind.Utc);
                break;
            case EventType.ExecutionStarted:
                Start(e);
                break;
            case EventType.TaskScheduled:
            case EventType.TimerCreated:
            case EventType.SubOrchestrationInstanceCreated:
            case EventType.EventSent:
                _context.MatchRecorded(e);
                break;
            case EventType.TaskCompleted:
            case EventType.TaskFailed:
            case EventType.TimerFired:
            case EventType.SubOrchestrationInstanceCompleted:
            case EventType.SubOrchestrationInstanceFailed:
                _context.Complete(e);
                break;
            case EventType.EventRaised:
                _context.Raise(e.Name ?? "", e.Input);
                break;
            case EventType.ExecutionSuspended:
                if (Status == OrchestrationRuntimeStatus.Running)
                {
                    Status = OrchestrationRuntimeStatus.Suspended;
                }

                break;
            case EventType.ExecutionResumed:
                if (Status == OrchestrationRuntimeStatus.Suspended)
                {
                    Status = OrchestrationRuntimeStatus.Running;
                    var held = _heldWhileSuspended.ToList();
                    _heldWhileSuspended.Clear();
                    foreach (var h in held)
                    {
                        Dispatch(h);
                        _scheduler.Drain();
                        CheckCompletion();
                    }
                }

                break;
            case EventType.ExecutionTerminated:
                Status = OrchestrationRuntimeStatus.Terminated;
                Output = e.Input;
                break;
            case EventType.ExecutionCompleted:
            case EventType.OrchestratorCompleted:
                break;
        }
    }

    private void Start(HistoryEvent e)
    {
        Started = e;
        SerializedInput = e.Input;
        _context.Initialize(e);
        Status = OrchestrationRuntimeStatus.Running;
        var type = _registry.FindOrchestrator(e.Name ?? "");
        if (type is null)
        {
            Fail(new TaskFailureDetails(typeof(InvalidOperationException).FullName!, $"No orchestrator named '{e.Name}' is registered with this worker."));
            return;
        }

        _scope = _services.CreateScope();
        ITaskOrchestrator orchestrator;
        try
        {
            orchestrator = (ITaskOrchestrator)ActivatorUtilities.CreateInstance(_scope.ServiceProvider, type);
        }
        catch (InvalidOperationException ex)
        {
            Fail(TaskFailureDetails.FromException(ex));
            return;
        }

        _run = _scheduler.Run(() => orchestrator.RunAsync(_context));
    }

    private void CheckCompletion()
    {
        if (_run is null || !_run.IsCompleted || Status is not (OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Suspended))
        {
            return;
        }

        if (_run.IsFaulted)
        {
            var ex = _run.Exception!.InnerExceptions.Count == 1 ? _run.Exception.InnerException! : _run.Exception;
            Fail(TaskFailureDetails.FromException(ex));
        }
        else if (_run.IsCanceled)
        {
            Fail(new TaskFailureDetails(typeof(TaskCanceledException).FullName!, "The orchestrator was cancelled."));
        }
        else if (_context.ContinueAsNewInput is { } next)
        {
            Status = OrchestrationRuntimeStatus.ContinuedAsNew;
            ContinuedAsNew = (next.Input, next.Preserve ? _context.UnprocessedEvents() : []);
        }
        else
        {
            Status = OrchestrationRuntimeStatus.Completed;
            Output = _context.Serialize(_run.Result);
        }
    }

    private void Fail(TaskFailureDetails failure)
    {
        Status = OrchestrationRuntimeStatus.Failed;
        Failure = failure;
    }

    private sealed class Context : TaskOrchestrationContext
    {
        private static readonly Guid NewGuidNamespace = new("9e952958-5e33-4daf-827f-2fa12937b875");

        private readonly OrchestrationExecutor _executor;
        private readonly string _instanceId;
        private readonly JsonSerializerOptions _json;
        private readonly Dictionary<int, Action<HistoryEvent>> _open = [];
        private readonly Dictionary<string, LinkedList<Action<string?>>> _waiters = new(StringComparer.OrdinalIgnoreCase);
        private readonly List<(string Name, string? Payload)> _buffered = [];
        private string? _name;
        private ParentOrchestrationInstance? _parent;
        private string? _input;
        private int _nextId;
        private int _guidCounter;

        public Context(OrchestrationExecutor executor, string instanceId, JsonSerializerOptions json)
        {
            _executor = executor;
            _instanceId = instanceId;
            _json = json;
        }

        public SortedDictionary<int, OrchestratorAction> Pending { get; } = [];

        public bool Replaying { get; set; }

        public DateTime Now { get; set; }

        public string? NameOrNull => _name;

        public string? SerializedCustomStatus { get; private set; }

        public (string? Input, bool Preserve)? ContinueAsNewInput { get; private set; }

        public override string Name => _name ?? "";

        public override string InstanceId => _instanceId;

        public override ParentOrchestrationInstance? Parent => _parent;

        public override DateTime CurrentUtcDateTime => Now;

        public override bool IsReplaying => Replaying;

        public void Initialize(HistoryEvent started)
        {
            _name = started.Name;
            _input = started.Input;
            _parent = started.ParentInstanceId is null ? null : new ParentOrchestrationInstance(started.ParentName ?? "", started.ParentInstanceId);
        }

        public override T? GetInput<T>() where T : default => Deserialize<T>(_input);

        public override async Task<TResult> CallActivityAsync<TResult>(string name, object? input = null, TaskOptions? options = null)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            var serialized = Serialize(input);
            return await WithRetry(options?.Retry, () => Schedule<TResult>(EventType.TaskScheduled, name, serialized, null, null));
        }

        public override async Task<TResult> CallSubOrchestratorAsync<TResult>(string orchestratorName, object? input = null, TaskOptions? options = null)
        {
            ArgumentException.ThrowIfNullOrEmpty(orchestratorName);
            var serialized = Serialize(input);
            var instanceId = (options as SubOrchestrationOptions)?.InstanceId ?? NewGuid().ToString("N");
            return await WithRetry(options?.Retry, () => Schedule<TResult>(EventType.SubOrchestrationInstanceCreated, orchestratorName, serialized, instanceId, null));
        }

        public override Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken)
        {
            var utc = fireAt.Kind == DateTimeKind.Local ? fireAt.ToUniversalTime() : DateTime.SpecifyKind(fireAt, DateTimeKind.Utc);
            var id = _nextId++;
            Pending[id] = new OrchestratorAction(EventType.TimerCreated, id, null, null, null, utc);
            var tcs = new TaskCompletionSource();
            _open[id] = _ => tcs.TrySetResult();
            if (cancellationToken.CanBeCanceled)
            {
                // Cancelling completes the task now; the timer message still fires later and is ignored.
                cancellationToken.Register(() =>
                {
                    _open.Remove(id);
                    tcs.TrySetCanceled(cancellationToken);
                });
            }

            return tcs.Task;
        }

        public override Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default)
        {
            ArgumentException.ThrowIfNullOrEmpty(eventName);
            var tcs = new TaskCompletionSource<T>();
            var index = _buffered.FindIndex(b => string.Equals(b.Name, eventName, StringComparison.OrdinalIgnoreCase));
            if (index >= 0)
            {
                var payload = _buffered[index].Payload;
                _buffered.RemoveAt(index);
                SetFromPayload(tcs, payload);
                return tcs.Task;
            }

            if (!_waiters.TryGetValue(eventName, out var list))
            {
                _waiters[eventName] = list = new LinkedList<Action<string?>>();
            }

            var node = list.AddLast(payload => SetFromPayload(tcs, payload));
            if (cancellationToken.CanBeCanceled)
            {
                cancellationToken.Register(() =>
                {
                    if (node.List is not null)
                    {
                        list.Remove(node);
                    }

                    tcs.TrySetCanceled(cancellationToken);
                });
            }

            return tcs.Task;
        }

        public override void SendEvent(string instanceId, string eventName, object? payload)
        {
            ArgumentException.ThrowIfNullOrEmpty(instanceId);
            ArgumentException.ThrowIfNullOrEmpty(eventName);
            var id = _nextId++;
            Pending[id] = new OrchestratorAction(EventType.EventSent, id, eventName, Serialize(payload), instanceId, null);
        }

        public override void SetCustomStatus(object? customStatus)
        {
            var serialized = Serialize(customStatus);
            if (serialized != SerializedCustomStatus)
            {
                SerializedCustomStatus = serialized;
                _executor.CustomStatusChanged = true;
            }
        }

        public override void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true) =>
            ContinueAsNewInput = (Serialize(newInput), preserveUnprocessedEvents);

        public override Guid NewGuid()
        {
            // UUIDv5 (RFC 4122) as durabletask-dotnet: SHA-1 over namespace and "{instanceId}_{now:o}_{counter}".
            var name = $"{_instanceId}_{Now:o}_{_guidCounter++}";
            Span<byte> namespaceBytes = stackalloc byte[16];
            NewGuidNamespace.TryWriteBytes(namespaceBytes, bigEndian: true, out _);
            var nameBytes = Encoding.UTF8.GetBytes(name);
            var buffer = new byte[16 + nameBytes.Length];
            namespaceBytes.CopyTo(buffer);
            nameBytes.CopyTo(buffer, 16);
#pragma warning disable CA5350 // UUIDv5 is defined over SHA-1; this is an identifier, not a security boundary.
            var hash = SHA1.HashData(buffer);
#pragma warning restore CA5350
            hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
            hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
            return new Guid(hash.AsSpan(0, 16), bigEndian: true);
        }

        public override ILogger CreateReplaySafeLogger(string categoryName) =>
            new ReplaySafeLogger(this, _executor._loggerFactory.CreateLogger(categoryName));

        public void MatchRecorded(HistoryEvent recorded)
        {
            if (!Pending.Remove(recorded.EventId, out var action))
            {
                throw new NonDeterministicOrchestrationException(
                    $"Non-deterministic orchestrator: history has {recorded.EventType} #{recorded.EventId} ('{recorded.Name}') but the code did not schedule it on replay. Orchestrator code changed while instance '{_instanceId}' was running.");
            }

            var sameName = recorded.EventType == EventType.TimerCreated || string.Equals(action.Name, recorded.Name, StringComparison.OrdinalIgnoreCase);
            if (action.Type != recorded.EventType || !sameName)
            {
                throw new NonDeterministicOrchestrationException(
                    $"Non-deterministic orchestrator: history has {recorded.EventType} #{recorded.EventId} ('{recorded.Name}') but the code scheduled {action.Type} ('{action.Name}') on replay. Orchestrator code changed while instance '{_instanceId}' was running.");
            }
        }

        public void Complete(HistoryEvent response)
        {
            if (response.TaskScheduledId is { } id && _open.Remove(id, out var complete))
            {
                complete(response);
            }
        }

        public void Raise(string name, string? payload)
        {
            if (_waiters.TryGetValue(name, out var list) && list.First is { } first)
            {
                list.RemoveFirst();
                first.Value(payload);
            }
            else
            {
                _buffered.Add((name, payload));
            }
        }

        public List<HistoryEvent> UnprocessedEvents() =>
            _buffered.Select(b => new HistoryEvent { EventType = EventType.EventRaised, Name = b.Name, Input = b.Payload, Timestamp = Now }).ToList();

        public string? Serialize(object? value) => value is null ? null : JsonSerializer.Serialize(value, value.GetType(), _json);

        private T? Deserialize<T>(string? json) => json is null ? default : JsonSerializer.Deserialize<T>(json, _json);

        private void SetFromPayload<T>(TaskCompletionSource<T> tcs, string? payload)
        {
            try
            {
                tcs.TrySetResult(Deserialize<T>(payload)!);
            }
            catch (JsonException ex)
            {
                tcs.TrySetException(ex);
            }
        }

        private Task<TResult> Schedule<TResult>(EventType type, string name, string? input, string? instanceId, DateTime? fireAt)
        {
            var id = _nextId++;
            Pending[id] = new OrchestratorAction(type, id, name, input, instanceId, fireAt);
            var tcs = new TaskCompletionSource<TResult>();
            _open[id] = response =>
            {
                switch (response.EventType)
                {
                    case EventType.TaskCompleted:
                    case EventType.SubOrchestrationInstanceCompleted:
                        try
                        {
                            tcs.TrySetResult(Deserialize<TResult>(response.Result)!);
                        }
                        catch (JsonException ex)
                        {
                            tcs.TrySetException(ex);
                        }

                        break;
                    default:
                        tcs.TrySetException(new TaskFailedException(name, id, response.FailureDetails ?? new TaskFailureDetails("Unknown", "The task failed.")));
                        break;
                }
            };
            return tcs.Task;
        }

        private async Task<T> WithRetry<T>(RetryPolicy? policy, Func<Task<T>> call)
        {
            if (policy is null)
            {
                return await call();
            }

            var firstAttemptAt = CurrentUtcDateTime;
            for (var attempt = 1; ; attempt++)
            {
                TaskFailedException failure;
                try
                {
                    return await call();
                }
                catch (TaskFailedException ex)
                {
                    failure = ex;
                }

                var delay = policy.GetDelay(attempt);
                var retry = attempt < policy.MaxNumberOfAttempts
                    && (policy.HandleFailure?.Invoke(failure.FailureDetails) ?? true)
                    && (policy.RetryTimeout == Timeout.InfiniteTimeSpan || CurrentUtcDateTime + delay <= firstAttemptAt + policy.RetryTimeout);
                if (!retry)
                {
                    throw failure;
                }

                await CreateTimer(CurrentUtcDateTime + delay, CancellationToken.None);
            }
        }
    }

    private sealed class ReplaySafeLogger(Context context, ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => !context.IsReplaying && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!context.IsReplaying)
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
