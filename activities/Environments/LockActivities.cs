using EnvFabric.Core.Environments;
using Microsoft.DurableTask;

namespace EnvFabric.Activities.Environments;

/// <summary>
/// Takes the environment's lock for the orchestration (idempotent for the same owner, so a replayed or
/// retried step succeeds again) and marks the environment as busy with this operation. Refuses when another
/// owner holds it, when the environment is gone, or when a rename's target exists.
/// </summary>
public sealed class TakeEnvironmentLockActivity(IEnvironmentLock locks, IEnvironmentRepository environments, TimeProvider time)
    : TaskActivity<LockRequest, LockResponse>
{
    public const string Name = "TakeEnvironmentLock";

    public override async Task<LockResponse> RunAsync(TaskActivityContext context, LockRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var ct = CancellationToken.None;
        var taken = new List<string>();
        foreach (var name in input.Names)
        {
            var attempt = await locks.TryAcquireAsync(name, input.Owner, input.Operation, TimeSpan.FromSeconds(input.TtlSeconds), ct).ConfigureAwait(false);
            if (!attempt.Acquired)
            {
                foreach (var held in taken)
                {
                    await locks.ReleaseAsync(held, input.Owner, ct).ConfigureAwait(false);
                }

                return new LockResponse(false, attempt.Holder?.Owner, attempt.Holder?.Operation, false, false);
            }

            taken.Add(name);
        }

        var target = input.Names[0];
        if (input.Operation == EnvOperations.Rename && input.Names.Count > 1
            && await environments.GetAsync(input.Names[1], ct).ConfigureAwait(false) is { } existing
            && existing.LastOperationId != input.Owner)
        {
            await ReleaseAllAsync(input, ct).ConfigureAwait(false);
            return new LockResponse(false, null, null, false, true);
        }

        // Optimistic concurrency: re-read and retry on a changed ETag (a lock holder is the only writer, but
        // start-up import or a list refresh may race the first write).
        for (var round = 0; round < 5; round++)
        {
            var record = await environments.GetAsync(target, ct).ConfigureAwait(false);
            if (record is null)
            {
                if (input.Operation == EnvOperations.Rename && await environments.GetAsync(input.Names[^1], ct).ConfigureAwait(false) is { } renamed && renamed.LastOperationId == input.Owner)
                {
                    // A retried rename whose record step already ran.
                    return new LockResponse(true, null, null, false, false);
                }

                await ReleaseAllAsync(input, ct).ConfigureAwait(false);
                return new LockResponse(false, null, null, true, false);
            }

            var status = input.Operation switch
            {
                EnvOperations.Delete or EnvOperations.Cleanup => EnvironmentStatus.Deleting,
                EnvOperations.Create or EnvOperations.Reset => EnvironmentStatus.Creating,
                _ => record.Status,
            };
            var marked = record with
            {
                Status = status,
                LastOperationId = input.Owner,
                LastOperation = input.Operation,
                UpdatedAt = time.GetUtcNow(),
            };
            if ((await environments.UpdateAsync(marked, ct).ConfigureAwait(false)).Outcome == SaveOutcome.Saved)
            {
                return new LockResponse(true, null, null, false, false);
            }
        }

        throw new InvalidOperationException($"environment '{target}' kept changing while being marked for {input.Operation}");
    }

    private async Task ReleaseAllAsync(LockRequest input, CancellationToken ct)
    {
        foreach (var name in input.Names)
        {
            await locks.ReleaseAsync(name, input.Owner, ct).ConfigureAwait(false);
        }
    }
}

/// <summary>Releases the orchestration's environment locks; releasing a lock it no longer holds is a no-op.</summary>
public sealed class ReleaseEnvironmentLockActivity(IEnvironmentLock locks) : TaskActivity<LockRequest, bool>
{
    public const string Name = "ReleaseEnvironmentLock";

    public override async Task<bool> RunAsync(TaskActivityContext context, LockRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var released = true;
        foreach (var name in input.Names)
        {
            released &= await locks.ReleaseAsync(name, input.Owner, CancellationToken.None).ConfigureAwait(false);
        }

        return released;
    }
}
