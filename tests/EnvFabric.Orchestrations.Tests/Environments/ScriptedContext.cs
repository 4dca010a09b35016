using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EnvFabric.Orchestrations.Tests.Environments;

/// <summary>
/// A <see cref="TaskOrchestrationContext"/> that answers activity calls from a script and records them, so the
/// orchestrator's decisions can be checked one by one. Time advances by the timeout of each event wait.
/// </summary>
internal sealed class ScriptedContext(string instanceId) : TaskOrchestrationContext
{
    private readonly Dictionary<string, Func<object?, object?>> _activities = new(StringComparer.Ordinal);
    private readonly Queue<JsonElement> _events = new();
    private DateTime _now = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);
    private int _guid;

    public List<(string Name, object? Input)> Calls { get; } = [];

    public override TaskName Name => "EnvBuild";

    public override string InstanceId => instanceId;

    public override ParentOrchestrationInstance? Parent => null;

    public override DateTime CurrentUtcDateTime => _now;

    public override bool IsReplaying => false;

    public ScriptedContext On<TOutput>(string activity, Func<object?, TOutput> answer)
    {
        _activities[activity] = input => answer(input);
        return this;
    }

    public ScriptedContext Fail(string activity, string errorType, string message)
    {
        _activities[activity] = _ => throw new TaskFailedException(activity, 0, new TaskFailureDetails(errorType, message, null, null, null));
        return this;
    }

    public ScriptedContext RaiseLater(object payload)
    {
        // As the durable client serializes event payloads (web defaults: camelCase).
        _events.Enqueue(JsonSerializer.SerializeToElement(payload, JsonSerializerOptions.Web));
        return this;
    }

    public override T? GetInput<T>() where T : default => default;

    public override Task<TResult> CallActivityAsync<TResult>(TaskName name, object? input = null, TaskOptions? options = null)
    {
        Calls.Add((name.Name, input));
        if (!_activities.TryGetValue(name.Name, out var answer))
        {
            throw new InvalidOperationException($"unexpected activity {name}");
        }

        try
        {
            return Task.FromResult((TResult)answer(input)!);
        }
        catch (TaskFailedException ex)
        {
            return Task.FromException<TResult>(ex);
        }
    }

    public override Task<TResult> CallSubOrchestratorAsync<TResult>(TaskName orchestratorName, object? input = null, TaskOptions? options = null) =>
        throw new NotSupportedException();

    public override Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken)
    {
        _now = fireAt > _now ? fireAt : _now;
        return Task.CompletedTask;
    }

    public override Task<T> WaitForExternalEvent<T>(string eventName, CancellationToken cancellationToken = default)
    {
        if (_events.Count > 0 && typeof(T) == typeof(JsonElement))
        {
            return Task.FromResult((T)(object)_events.Dequeue());
        }

        // No event: stays pending, so the racing timer wins; the loser is cancelled, as the SDK does.
        var pending = new TaskCompletionSource<T>();
        cancellationToken.Register(() => pending.TrySetCanceled(cancellationToken));
        return pending.Task;
    }

    public override void SendEvent(string instanceId, string eventName, object payload)
    {
    }

    public override void SetCustomStatus(object? customStatus)
    {
    }

    public override void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true)
    {
    }

    public override Guid NewGuid() => new(++_guid, 0, 0, new byte[8]);

    public override ILogger CreateReplaySafeLogger(string categoryName) => NullLogger.Instance;

    protected override ILoggerFactory LoggerFactory => NullLoggerFactory.Instance;
}
