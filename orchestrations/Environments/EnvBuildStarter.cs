using EnvFabric.Activities.Environments;
using EnvFabric.Core.Environments;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace EnvFabric.Orchestrations.Environments;

/// <summary>How a start attempt ended.</summary>
public enum StartStatus
{
    /// <summary>The orchestration is running.</summary>
    Started,

    /// <summary>Another operation holds the environment's lock.</summary>
    Locked,

    /// <summary>A create found the name taken (or a rename its target).</summary>
    AlreadyExists,
}

/// <summary>The outcome of <see cref="EnvBuildStarter.StartAsync"/>.</summary>
public sealed record StartOutcome(StartStatus Status, string? InstanceId, LockHolder? Holder);

/// <summary>
/// Starts <c>EnvBuild</c> orchestrations for the HTTP functions. The lock is taken here first, for the
/// instance id about to start, so a second mutation is refused at once (423) instead of after a queue hop;
/// the orchestration re-takes it as the same owner and releases it at the end. A create also records the
/// environment as <c>creating</c> here, so the name is claimed before anything touches the share.
/// </summary>
public sealed class EnvBuildStarter(DurableTaskClient client, IEnvironmentLock locks, IEnvironmentRepository environments, TimeProvider time)
{
    /// <summary>Starts the build; nothing is started when the result is not <see cref="StartStatus.Started"/>.</summary>
    public async Task<StartOutcome> StartAsync(EnvBuildInput input, EnvironmentRecord? newRecord = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var instanceId = $"envbuild-{Guid.NewGuid():N}";
        var names = new List<string>();
        if (EnvOperations.Mutates(input.Operation))
        {
            names.Add(input.Environment);
            if (input.NewName is not null)
            {
                names.Add(input.NewName);
            }
        }

        var taken = new List<string>();
        foreach (var name in names)
        {
            var attempt = await locks.TryAcquireAsync(name, instanceId, input.Operation, EnvBuildOrchestrator.LockTtl, cancellationToken).ConfigureAwait(false);
            if (!attempt.Acquired)
            {
                await ReleaseAsync(taken, instanceId).ConfigureAwait(false);
                return new StartOutcome(StartStatus.Locked, null, attempt.Holder);
            }

            taken.Add(name);
        }

        try
        {
            if (input.NewName is not null && await environments.GetAsync(input.NewName, cancellationToken).ConfigureAwait(false) is not null)
            {
                await ReleaseAsync(taken, instanceId).ConfigureAwait(false);
                return new StartOutcome(StartStatus.AlreadyExists, null, null);
            }

            if (newRecord is not null)
            {
                var now = time.GetUtcNow();
                var added = await environments.AddAsync(
                    newRecord with { CreatedAt = now, UpdatedAt = now, LastUsedAt = now, Status = EnvironmentStatus.Creating, LastOperationId = instanceId, LastOperation = input.Operation },
                    cancellationToken).ConfigureAwait(false);
                if (added.Outcome != SaveOutcome.Saved)
                {
                    await ReleaseAsync(taken, instanceId).ConfigureAwait(false);
                    return new StartOutcome(StartStatus.AlreadyExists, null, null);
                }
            }

            await client.ScheduleNewOrchestrationInstanceAsync(EnvBuildOrchestrator.Name, input, new StartOrchestrationOptions(instanceId), cancellationToken).ConfigureAwait(false);
            return new StartOutcome(StartStatus.Started, instanceId, null);
        }
        catch
        {
            // Nothing started: give the name and the lock back so the caller can retry.
            if (newRecord is not null)
            {
                await environments.DeleteAsync(newRecord.Name, CancellationToken.None).ConfigureAwait(false);
            }

            await ReleaseAsync(taken, instanceId).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Waits up to <paramref name="wait"/> for the build: its result, or null when it is still running.
    /// A crashed orchestration (not a failed build: those complete with a result) surfaces as a failed result.
    /// </summary>
    public async Task<EnvBuildResult?> WaitAsync(string instanceId, EnvBuildInput input, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (wait <= TimeSpan.Zero)
        {
            return null;
        }

        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(wait);
        OrchestrationMetadata done;
        try
        {
            done = await client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, bound.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        return Read(done, input);
    }

    /// <summary>The result of a finished instance, or a failure describing why there is none.</summary>
    public static EnvBuildResult Read(OrchestrationMetadata done, EnvBuildInput input)
    {
        ArgumentNullException.ThrowIfNull(done);
        ArgumentNullException.ThrowIfNull(input);
        if (done.RuntimeStatus == OrchestrationRuntimeStatus.Completed && done.ReadOutputAs<EnvBuildResult>() is { } result)
        {
            return result;
        }

        return new EnvBuildResult
        {
            Succeeded = false,
            ErrorCode = EnvErrorCodes.UvExecutionError,
            Error = $"the {input.Operation} orchestration ended {done.RuntimeStatus}: {done.FailureDetails?.ErrorMessage ?? "no output"}",
            Operation = input.Operation,
            Environment = input.Environment,
            NewName = input.NewName,
            OperationId = done.InstanceId,
        };
    }

    private async Task ReleaseAsync(List<string> names, string owner)
    {
        foreach (var name in names)
        {
            await locks.ReleaseAsync(name, owner, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
