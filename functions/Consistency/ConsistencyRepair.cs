using System.Text.Json;
using Azure;
using Azure.Storage.Blobs.Models;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;
using EnvFabric.Orchestrations.Tasks;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions.Consistency;

/// <summary>
/// Acts on the repairable findings of a fresh <see cref="ConsistencyCheck"/>, one at a time, each re-checked just
/// before it acts (the state may have moved since the check) and audited as <c>system.repair</c>. It never deletes an
/// environment directory, a project or anything changed within the grace period.
/// </summary>
public sealed class ConsistencyRepair(
    ConsistencyCheck check,
    ITaskRepository tasks,
    IEnvironmentRepository environments,
    IEnvironmentLock locks,
    EnvInfoStore envInfo,
    EnvInfoImporter importer,
    IAuditLog audit,
    DataPaths paths,
    StorageAccount storage,
    StorageNames names,
    DurableTaskClient durable,
    TaskStarter starter,
    TaskRunRepair runs,
    IOptions<ConsistencyOptions> options,
    TimeProvider time)
{
    /// <summary>How long a terminated schedule may take to reach its terminated state before it is purged.</summary>
    private static readonly TimeSpan TerminateWait = TimeSpan.FromSeconds(60);

    private static readonly JsonSerializerOptions AuditJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Checks, then repairs (or with <paramref name="dryRun"/> lists what it would do).</summary>
    public async Task<RepairReport> RunAsync(bool dryRun, string who, string clientIp, CancellationToken cancellationToken)
    {
        var report = await check.RunAsync(cancellationToken).ConfigureAwait(false);
        var actions = new List<RepairAction>();
        foreach (var finding in report.Findings.Where(f => f.Repairable))
        {
            if (dryRun)
            {
                actions.Add(new RepairAction(finding.Kind, finding.Subject, finding.Action, "planned", finding.Detail));
                continue;
            }

            string outcome, detail;
            try
            {
                (outcome, detail) = await ApplyAsync(finding, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RequestFailedException or IOException or UnauthorizedAccessException or InvalidOperationException or TimeoutException)
            {
                (outcome, detail) = ("failed", ex.Message);
            }

            actions.Add(new RepairAction(finding.Kind, finding.Subject, finding.Action, outcome, detail));
            await AuditAsync(finding, outcome, detail, who, clientIp).ConfigureAwait(false);
        }

        var done = actions.Count(a => a.Outcome == "done");
        var message = dryRun
            ? $"{actions.Count} repair action(s) planned; nothing was changed"
            : $"{done} of {actions.Count} repair action(s) done";
        var counts = actions.GroupBy(a => a.Outcome).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());
        return new RepairReport(message, dryRun, report.CheckedAt, actions, report.Findings.Where(f => !f.Repairable).ToList(), counts);
    }

    private async Task<(string Outcome, string Detail)> ApplyAsync(ConsistencyFinding finding, CancellationToken ct)
    {
        var cutoff = time.GetUtcNow() - options.Value.Grace;
        if (finding.Action is ConsistencyActions.ImportEnvInfo or ConsistencyActions.DeleteEnvInfo or ConsistencyActions.WriteEnvInfo or ConsistencyActions.MarkEnvironmentFailed
            && await locks.GetAsync(finding.Subject, ct).ConfigureAwait(false) is { } holder)
        {
            return Skipped($"the environment's {holder.Operation} operation {holder.Owner} holds its lock");
        }

        switch (finding.Action)
        {
            case ConsistencyActions.ImportEnvInfo:
            {
                var document = await envInfo.ReadAsync(finding.Subject, ct).ConfigureAwait(false);
                if (document is null || !Directory.Exists(Path.Combine(paths.Envs, finding.Subject)))
                {
                    return Skipped("the file or the directory is gone");
                }

                return await importer.ImportAsync(document, paths.Envs, ct).ConfigureAwait(false)
                    ? Done($"imported environment '{finding.Subject}' from env_info/{finding.Subject}.json")
                    : Skipped("a row of that name exists now");
            }

            case ConsistencyActions.DeleteEnvInfo:
                if (await environments.GetAsync(finding.Subject, ct).ConfigureAwait(false) is not null || Directory.Exists(Path.Combine(paths.Envs, finding.Subject)))
                {
                    return Skipped("a row or a directory of that name exists now");
                }

                return await envInfo.DeleteAsync(finding.Subject, ct).ConfigureAwait(false)
                    ? Done($"deleted env_info/{finding.Subject}.json")
                    : Skipped("the file is gone");

            case ConsistencyActions.WriteEnvInfo:
            {
                var record = await environments.GetAsync(finding.Subject, ct).ConfigureAwait(false);
                if (record is not { Status: EnvironmentStatus.Ready or EnvironmentStatus.Failed })
                {
                    return Skipped("the environment is gone or being changed");
                }

                await envInfo.WriteAsync(record, ct).ConfigureAwait(false);
                return Done($"wrote env_info/{finding.Subject}.json from the row");
            }

            case ConsistencyActions.MarkEnvironmentFailed:
            {
                var record = await environments.GetAsync(finding.Subject, ct).ConfigureAwait(false);
                if (record is not { Status: EnvironmentStatus.Ready } || Directory.Exists(record.Path))
                {
                    return Skipped("the environment changed since the check");
                }

                var failed = record with
                {
                    Status = EnvironmentStatus.Failed,
                    LastError = $"its directory {record.Path} was missing (consistency repair); reset the environment to rebuild it",
                    UpdatedAt = time.GetUtcNow(),
                };
                var saved = await environments.UpdateAsync(failed, ct).ConfigureAwait(false);
                if (saved is not { Outcome: SaveOutcome.Saved, Record: { } stored })
                {
                    return Skipped("the environment changed since the check");
                }

                await envInfo.WriteAsync(stored, ct).ConfigureAwait(false);
                return Done("marked the environment failed");
            }

            case ConsistencyActions.MarkAbnormal:
            {
                var slash = finding.Subject.IndexOf('/', StringComparison.Ordinal);
                if (slash < 0 || !ConsistencyCheck.TryTaskId(finding.Subject[..slash], out var taskId))
                {
                    return Skipped("not an execution");
                }

                return await runs.RepairAsync(taskId, finding.Subject[(slash + 1)..], ct).ConfigureAwait(false)
                    ? Done("marked the execution abnormal and freed the task")
                    : Skipped("its run is live again");
            }

            case ConsistencyActions.TerminateSchedule:
                return await EndScheduleAsync(finding.Subject, ct).ConfigureAwait(false);

            case ConsistencyActions.StartSchedule:
            {
                if (!ConsistencyCheck.TryTaskId(finding.Subject, out var taskId) || await tasks.GetAsync(taskId, ct).ConfigureAwait(false) is not { } task
                    || task.Trigger.Kind == TriggerKind.Now || task.Status is not (TaskStatuses.Scheduled or TaskStatuses.Running))
                {
                    return Skipped("the task changed since the check");
                }

                await starter.EnsureScheduleAsync(task, ct).ConfigureAwait(false);
                return Done($"started {Activities.Tasks.TaskInstanceIds.Schedule(taskId)}");
            }

            case ConsistencyActions.DeleteBlob:
            {
                var blob = storage.Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(names)).GetBlobClient(finding.Subject);
                try
                {
                    // Written to since the grace cutoff: a run or build is using it after all.
                    var deleted = await blob.DeleteIfExistsAsync(
                        DeleteSnapshotsOption.IncludeSnapshots, new BlobRequestConditions { IfUnmodifiedSince = cutoff }, ct).ConfigureAwait(false);
                    return deleted.Value ? Done("deleted the log") : Skipped("the log is gone");
                }
                catch (RequestFailedException ex) when (ex.Status == 412)
                {
                    return Skipped("the log was written to since the check");
                }
            }

            case ConsistencyActions.DeleteDirectory:
                return await DeleteScriptDirectoryAsync(finding.Subject, cutoff, ct).ConfigureAwait(false);

            default:
                return Skipped("nothing to do");
        }
    }

    private async Task<(string Outcome, string Detail)> EndScheduleAsync(string instanceId, CancellationToken ct)
    {
        if (!instanceId.StartsWith("schedule-", StringComparison.Ordinal) || !ConsistencyCheck.TryTaskId(instanceId["schedule-".Length..], out var taskId))
        {
            return Skipped("not a schedule");
        }

        var task = await tasks.GetAsync(taskId, ct).ConfigureAwait(false);
        if (task is not null && task.Status != TaskStatuses.Stopped && task.Trigger.Kind != TriggerKind.Now
            && (task.Trigger.Recurring || task.Status is not (TaskStatuses.Completed or TaskStatuses.Failed)))
        {
            return Skipped("the task needs its schedule again");
        }

        var instance = await durable.GetInstanceAsync(instanceId, getInputsAndOutputs: false, ct).ConfigureAwait(false);
        if (instance is null)
        {
            return Skipped("the schedule is gone");
        }

        if (!instance.IsCompleted)
        {
            await durable.TerminateInstanceAsync(instanceId, "consistency repair: the schedule has no task to run", ct).ConfigureAwait(false);
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
            bound.CancelAfter(TerminateWait);
            try
            {
                await durable.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: false, bound.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return ("failed", $"terminate was sent, but {instanceId} did not end within {TerminateWait.TotalSeconds:0} s; it is purged by a later repair");
            }
        }

        var purged = await durable.PurgeInstanceAsync(instanceId, cancellation: ct).ConfigureAwait(false);
        return Done($"terminated {instanceId} and purged {purged.PurgedInstanceCount} instance(s)");
    }

    private async Task<(string Outcome, string Detail)> DeleteScriptDirectoryAsync(string subject, DateTimeOffset cutoff, CancellationToken ct)
    {
        const string prefix = "scripts/";
        var name = subject.StartsWith(prefix, StringComparison.Ordinal) ? subject[prefix.Length..] : "";
        var isTask = ConsistencyCheck.TryTaskId(name, out var taskId);
        if (!isTask && !name.StartsWith(ConsistencyCheck.StagingPrefix, StringComparison.Ordinal))
        {
            return Skipped("not a script directory");
        }

        var directory = Path.Combine(paths.Scripts, name);
        if (!EnvironmentLayout.IsUnder(paths.Scripts, directory) || Path.GetDirectoryName(Path.GetFullPath(directory)) != Path.TrimEndingDirectorySeparator(Path.GetFullPath(paths.Scripts)))
        {
            return Skipped("outside the scripts directory");
        }

        if (!Directory.Exists(directory))
        {
            return Skipped("the directory is gone");
        }

        if ((isTask && await tasks.GetAsync(taskId, ct).ConfigureAwait(false) is not null) || ConsistencyCheck.LatestWrite(directory) > cutoff)
        {
            return Skipped("the directory is in use again");
        }

        // A symbolic link is removed itself; its target is left alone.
        if (new DirectoryInfo(directory).LinkTarget is not null)
        {
            Directory.Delete(directory);
        }
        else
        {
            Directory.Delete(directory, recursive: true);
        }

        return Done($"deleted {subject}");
    }

    private async Task AuditAsync(ConsistencyFinding finding, string outcome, string detail, string who, string clientIp)
    {
        var environment = finding.Kind is ConsistencyKinds.EnvInfoWithoutRow or ConsistencyKinds.EnvInfoMissing or ConsistencyKinds.EnvironmentDirectoryMissing
            ? finding.Subject
            : "";
        try
        {
            await audit.WriteAsync(
                new AuditRecord
                {
                    Id = $"repair-{Guid.NewGuid():N}",
                    At = time.GetUtcNow(),
                    Operation = "system.repair",
                    Environment = environment,
                    Who = who,
                    ClientIp = clientIp,
                    Inputs = JsonSerializer.Serialize(new { kind = finding.Kind, subject = finding.Subject, action = finding.Action }, AuditJson),
                    Outcome = outcome == "done" ? "succeeded" : outcome,
                    Error = outcome == "done" ? null : detail,
                },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (AuditWriteException)
        {
            // The repair itself is made; the audit outage shows in the health check.
        }
    }

    private static (string, string) Done(string detail) => ("done", detail);

    private static (string, string) Skipped(string detail) => ("skipped", detail);
}
