using System.Text.Json;
using DurableTask.AzureStorage;
using DurableTask.AzureStorage.Tracking;
using DurableTask.Core;
using DurableTask.Core.History;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Converters;
using Microsoft.Extensions.Options;
using CoreStatus = DurableTask.Core.OrchestrationStatus;

namespace EnvFabric.Durable.Client;

/// <summary>
/// Microsoft.DurableTask's <see cref="DurableTaskClient"/> over DTFx's Azure Storage provider: the same task hub
/// the worker runs, so Durable Functions Monitor and Storage Explorer read what it writes. Inputs, outputs and
/// event payloads go through the one <see cref="DataConverter"/> the worker's shims use (System.Text.Json).
/// </summary>
public sealed class AzureStorageDurableTaskClient : DurableTaskClient
{
    /// <summary>Statuses of an instance that has not finished: a new start with its id is refused.</summary>
    private static readonly CoreStatus[] UnfinishedStatuses = [CoreStatus.Pending, CoreStatus.Running, CoreStatus.ContinuedAsNew, CoreStatus.Suspended];

    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan LongestPoll = TimeSpan.FromMilliseconds(500);

    private readonly AzureStorageOrchestrationService _service;
    private readonly DataConverter _converter;

    /// <summary>Creates the client over <paramref name="service"/>, serializing with the options' serializer settings.</summary>
    public AzureStorageDurableTaskClient(AzureStorageOrchestrationService service, IOptions<DurableTaskOptions> options)
        : base((options ?? throw new ArgumentNullException(nameof(options))).Value.HubName)
    {
        _service = service;
        _converter = new JsonDataConverter(options.Value.SerializerOptions);
    }

    /// <summary>The converter of inputs, outputs and payloads.</summary>
    public DataConverter DataConverter => _converter;

    /// <inheritdoc/>
    public override async Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(orchestratorName.Name, nameof(orchestratorName));
        var instance = new OrchestrationInstance
        {
            InstanceId = options?.InstanceId ?? Guid.NewGuid().ToString("N"),
            ExecutionId = Guid.NewGuid().ToString("N"),
        };
        var started = new ExecutionStartedEvent(-1, _converter.Serialize(input))
        {
            Name = orchestratorName.Name,
            Version = options?.Version?.Version ?? string.Empty,
            OrchestrationInstance = instance,
            ScheduledStartTime = NotBefore(options?.StartAt),
            Tags = options?.Tags?.ToDictionary(t => t.Key, t => t.Value),
        };
        var dedupe = options?.DedupeStatuses is { } statuses
            ? statuses.Select(s => Enum.Parse<CoreStatus>(s.ToString())).ToArray()
            : UnfinishedStatuses;
        cancellation.ThrowIfCancellationRequested();
        await _service.CreateTaskOrchestrationAsync(new TaskMessage { Event = started, OrchestrationInstance = instance }, dedupe).ConfigureAwait(false);
        return instance.InstanceId;
    }

    /// <inheritdoc/>
    public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        return SendAsync(instanceId, new EventRaisedEvent(-1, _converter.Serialize(eventPayload)) { Name = eventName }, cancellation);
    }

    /// <inheritdoc/>
    public override Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();
        return _service.ForceTerminateTaskOrchestrationAsync(instanceId, _converter.Serialize(options?.Output));
    }

    /// <inheritdoc/>
    public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new ExecutionSuspendedEvent(-1, reason), cancellation);

    /// <inheritdoc/>
    public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        SendAsync(instanceId, new ExecutionResumedEvent(-1, reason), cancellation);

    /// <inheritdoc/>
    public override async Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();

        // The provider answers [null] for an unknown or purged id.
        var states = await _service.GetOrchestrationStateAsync(instanceId, allExecutions: false, fetchInput: getInputsAndOutputs).ConfigureAwait(false);
        return states.FirstOrDefault() is { } state ? await ToMetadataAsync(state, getInputsAndOutputs).ConfigureAwait(false) : null;
    }

    /// <inheritdoc/>
    public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null)
    {
        var query = filter ?? new OrchestrationQuery();
        return Pageable.Create(async (string? continuation, int? pageSize, CancellationToken cancellation) =>
        {
            var condition = new OrchestrationInstanceStatusQueryCondition
            {
                CreatedTimeFrom = query.CreatedFrom?.UtcDateTime ?? default,
                CreatedTimeTo = query.CreatedTo?.UtcDateTime ?? default,
                RuntimeStatus = query.Statuses?.Select(s => Enum.Parse<CoreStatus>(s.ToString())).ToArray(),
                InstanceIdPrefix = query.InstanceIdPrefix,
                FetchInput = query.FetchInputsAndOutputs,
                FetchOutput = query.FetchInputsAndOutputs,
            };
            var result = await _service.GetOrchestrationStateAsync(condition, pageSize ?? query.PageSize, continuation ?? query.ContinuationToken, cancellation).ConfigureAwait(false);
            var items = new List<OrchestrationMetadata>(result.OrchestrationState.Count());
            foreach (var state in result.OrchestrationState)
            {
                items.Add(await ToMetadataAsync(state, query.FetchInputsAndOutputs).ConfigureAwait(false));
            }

            return new Page<OrchestrationMetadata>(items, string.IsNullOrEmpty(result.ContinuationToken) ? null : result.ContinuationToken);
        });
    }

    /// <inheritdoc/>
    public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        PollAsync(instanceId, getInputsAndOutputs, m => m.RuntimeStatus != OrchestrationRuntimeStatus.Pending, cancellation);

    /// <inheritdoc/>
    public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        PollAsync(instanceId, getInputsAndOutputs, m => m.IsCompleted, cancellation);

    /// <inheritdoc/>
    public override async Task<Microsoft.DurableTask.Client.PurgeResult> PurgeInstanceAsync(string instanceId, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();

        // As the SDK documents, only a finished instance is purged: the provider would delete a running one's
        // state and history from under it.
        var states = await _service.GetOrchestrationStateAsync(instanceId, allExecutions: false, fetchInput: false).ConfigureAwait(false);
        if (states.FirstOrDefault() is not { OrchestrationStatus: CoreStatus.Completed or CoreStatus.Failed or CoreStatus.Terminated or CoreStatus.Canceled })
        {
            return new Microsoft.DurableTask.Client.PurgeResult(0);
        }

        var result = await _service.PurgeInstanceHistoryAsync(instanceId).ConfigureAwait(false);
        return new Microsoft.DurableTask.Client.PurgeResult(result.InstancesDeleted);
    }

    /// <inheritdoc/>
    public override async Task<Microsoft.DurableTask.Client.PurgeResult> PurgeAllInstancesAsync(PurgeInstancesFilter filter, PurgeInstanceOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        cancellation.ThrowIfCancellationRequested();
        var statuses = filter.Statuses?.Select(s => Enum.Parse<CoreStatus>(s.ToString())).ToArray();
        var result = await _service.PurgeInstanceHistoryAsync(
            filter.CreatedFrom?.UtcDateTime ?? DateTime.MinValue,
            filter.CreatedTo?.UtcDateTime,
            statuses is { Length: > 0 } ? statuses : [CoreStatus.Completed, CoreStatus.Failed, CoreStatus.Terminated, CoreStatus.Canceled]).ConfigureAwait(false);
        return new Microsoft.DurableTask.Client.PurgeResult(result.InstancesDeleted, result.IsComplete);
    }

    /// <summary>
    /// Starts the orchestration again with the input it was started with: under the same id (it must have
    /// finished) or, with <paramref name="restartWithNewInstanceId"/>, a new one.
    /// </summary>
    public override async Task<string> RestartAsync(string instanceId, bool restartWithNewInstanceId = false, CancellationToken cancellation = default)
    {
        var metadata = await GetInstancesAsync(instanceId, getInputsAndOutputs: true, cancellation).ConfigureAwait(false)
            ?? throw new ArgumentException($"No instance with id '{instanceId}' was found.", nameof(instanceId));
        object? input = metadata.SerializedInput is null ? null : JsonDocument.Parse(metadata.SerializedInput).RootElement.Clone();
        return await ScheduleNewOrchestrationInstanceAsync(
            metadata.Name, input, new StartOrchestrationOptions(restartWithNewInstanceId ? null : instanceId), cancellation).ConfigureAwait(false);
    }

    /// <summary>Rewinds a failed instance: its failed activities run again (the provider's rewind).</summary>
    public override Task RewindInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();
        return _service.RewindTaskOrchestrationAsync(instanceId, reason ?? string.Empty);
    }

    /// <summary>The current execution's history, oldest first, as the provider stores it (empty when unknown).</summary>
    public async Task<IReadOnlyList<HistoryEventInfo>> GetInstanceHistoryAsync(string instanceId, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();
        var json = await _service.GetOrchestrationHistoryAsync(instanceId, executionId: null).ConfigureAwait(false);
        return HistoryEventInfo.ParseProviderHistory(json);
    }

    /// <inheritdoc/>
    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// The scheduled start to give the provider for <paramref name="startAt"/>. The provider sends the start message with
    /// a visibility delay of (scheduled start - now), which the storage SDK truncates to whole seconds, so the instance
    /// could start up to a second early; a second more keeps the start at or after <paramref name="startAt"/> (and less
    /// than a second after it). A time already past is left as it is.
    /// </summary>
    private static DateTime? NotBefore(DateTimeOffset? startAt) =>
        startAt is { } at && at > DateTimeOffset.UtcNow ? at.UtcDateTime.AddSeconds(1) : startAt?.UtcDateTime;

    private Task SendAsync(string instanceId, HistoryEvent historyEvent, CancellationToken cancellation)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        cancellation.ThrowIfCancellationRequested();
        return _service.SendTaskOrchestrationMessageAsync(new TaskMessage
        {
            Event = historyEvent,
            OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId },
        });
    }

    private async Task<OrchestrationMetadata> PollAsync(string instanceId, bool getInputsAndOutputs, Func<OrchestrationMetadata, bool> done, CancellationToken cancellation)
    {
        // DTFx's own wait polls every 2 s; a client waiting for a build or a run wants to know sooner.
        var delay = FirstPoll;
        while (true)
        {
            var metadata = await GetInstancesAsync(instanceId, getInputsAndOutputs, cancellation).ConfigureAwait(false);
            if (metadata is not null && done(metadata))
            {
                return metadata;
            }

            await Task.Delay(delay, cancellation).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(LongestPoll.Ticks, delay.Ticks * 3 / 2));
        }
    }

    private async Task<OrchestrationMetadata> ToMetadataAsync(OrchestrationState state, bool withPayloads)
    {
        var status = Enum.Parse<OrchestrationRuntimeStatus>(state.OrchestrationStatus.ToString());
        var failure = status == OrchestrationRuntimeStatus.Failed
            ? ToFailure(state.FailureDetails)
                ?? await ReadFailureFromHistoryAsync(state.OrchestrationInstance.InstanceId).ConfigureAwait(false)
                ?? new TaskFailureDetails("OrchestrationFailed", state.Output ?? "The orchestration failed.", null, null, null)
            : null;
        return new OrchestrationMetadata(state.Name, state.OrchestrationInstance.InstanceId)
        {
            FailureDetails = failure,
            DataConverter = _converter,
            RuntimeStatus = status,
            CreatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.CreatedTime, DateTimeKind.Utc)),
            LastUpdatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.LastUpdatedTime, DateTimeKind.Utc)),
            SerializedInput = withPayloads ? state.Input : null,
            SerializedOutput = withPayloads && status != OrchestrationRuntimeStatus.Failed ? state.Output : null,
            SerializedCustomStatus = state.Status,
            Tags = state.Tags is { } tags ? new Dictionary<string, string>(tags) : new Dictionary<string, string>(),
        };
    }

    /// <summary>
    /// The provider leaves <see cref="OrchestrationState.FailureDetails"/> empty and keeps only the message in the
    /// Instances row; the completion event in history has the details (type, message, stack, inner failures).
    /// </summary>
    private async Task<TaskFailureDetails?> ReadFailureFromHistoryAsync(string instanceId)
    {
        var history = await GetInstanceHistoryAsync(instanceId).ConfigureAwait(false);
        return history.LastOrDefault(e => e.EventType == nameof(EventType.ExecutionCompleted))?.FailureDetails;
    }

    private static TaskFailureDetails? ToFailure(FailureDetails? details) => details is null
        ? null
        : new TaskFailureDetails(details.ErrorType, details.ErrorMessage, details.StackTrace, ToFailure(details.InnerFailure), null);
}
