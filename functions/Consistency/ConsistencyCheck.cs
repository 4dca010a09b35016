using System.Globalization;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using EnvFabric.Activities.Environments;
using EnvFabric.Activities.Tasks;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Share;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;
using EnvFabric.Orchestrations.Tasks;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions.Consistency;

/// <summary>
/// Compares the tables (environments, tasks, executions, runner jobs, projects), the share (environment, script and
/// project directories, <c>env_info</c>), the log container and the durable engine's instances, and lists what
/// disagrees. Tables, blobs and instances are read page by page; only keys and a few fields per environment and
/// task are held. Anything changed within the grace period (an upload, a build or a run in flight), and any
/// environment whose lock an operation holds, is left out and only counted.
/// </summary>
public sealed class ConsistencyCheck(
    ITaskRepository tasks,
    IEnvironmentRepository environments,
    IEnvironmentLock locks,
    EnvInfoStore envInfo,
    IShareStore share,
    IAuditLog audit,
    DataPaths paths,
    StorageAccount storage,
    StorageNames names,
    RunnerJobTable jobs,
    DurableTaskClient durable,
    TaskRunRepair runs,
    IOptions<ConsistencyOptions> options,
    IOptions<EnvironmentsOptions> environmentOptions,
    TimeProvider time)
{
    /// <summary>The Projects table's base name (another part of the service owns it; the check skips projects while it does not exist).</summary>
    public const string ProjectsTable = Core.Projects.TableProjectRepository.TableName;

    /// <summary>Where task execution logs live in the logs container.</summary>
    public const string TaskLogPrefix = "tasks/";

    /// <summary>Where environment operation logs live in the logs container.</summary>
    public const string EnvironmentLogPrefix = "env-ops/";

    /// <summary>The prefix of an upload's staging directory under <c>scripts/</c>.</summary>
    public const string StagingPrefix = ".staging-";

    /// <summary>Log blobs judged together; their tasks' executions are read with <see cref="LookupParallelism"/> queries at once.</summary>
    private const int LogPage = 1000;

    private const int LookupParallelism = 8;

    private static readonly OrchestrationRuntimeStatus[] LiveStatuses =
        [OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Suspended];

    /// <summary>Runs every check.</summary>
    public async Task<ConsistencyReport> RunAsync(CancellationToken cancellationToken)
    {
        var run = new Run(time.GetUtcNow(), options.Value.Grace);
        var envs = await EnvironmentsAsync(run, cancellationToken).ConfigureAwait(false);
        var importable = await EnvInfoAsync(run, envs, cancellationToken).ConfigureAwait(false);
        var taskStates = await TasksAsync(run, envs, cancellationToken).ConfigureAwait(false);
        await StuckExecutionsAsync(run, cancellationToken).ConfigureAwait(false);
        await SchedulesAsync(run, taskStates, cancellationToken).ConfigureAwait(false);
        await LogsAsync(run, envs, name => envs.ContainsKey(name) || importable.Contains(name), taskStates, cancellationToken).ConfigureAwait(false);
        ScriptDirectories(run, taskStates);
        await ProjectDirectoriesAsync(run, cancellationToken).ConfigureAwait(false);
        var counts = run.Findings.GroupBy(f => f.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());
        return new ConsistencyReport(EnvironmentHttp.Date(run.Now), options.Value.GraceSeconds, run.Findings, counts, run.SkippedRecent);
    }

    /// <summary>The latest write to a directory or to anything directly in it.</summary>
    public static DateTimeOffset LatestWrite(string directory)
    {
        var info = new DirectoryInfo(directory);
        var latest = info.LastWriteTimeUtc;
        try
        {
            foreach (var entry in info.EnumerateFileSystemInfos())
            {
                latest = entry.LastWriteTimeUtc > latest ? entry.LastWriteTimeUtc : latest;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Unreadable: its own time stands.
        }

        return new DateTimeOffset(latest, TimeSpan.Zero);
    }

    /// <summary>The environments table as far as the checks need it, and the directories on the share.</summary>
    private async Task<Dictionary<string, EnvState>> EnvironmentsAsync(Run run, CancellationToken ct)
    {
        var envs = new Dictionary<string, EnvState>(StringComparer.Ordinal);
        await foreach (var e in environments.ListAsync(ct).ConfigureAwait(false))
        {
            var path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(e.Path));
            envs[e.Name] = new EnvState(e.Status, path, e.UpdatedAt, e.LastOperationId);
            if (e.Status == EnvironmentStatus.Ready && !Directory.Exists(path) && run.Settled(e.UpdatedAt) && !await run.InFlightAsync(locks, e.Name, ct).ConfigureAwait(false))
            {
                run.Add(ConsistencyKinds.EnvironmentDirectoryMissing, e.Name,
                    $"the row is ready but its directory {path} is gone; repair marks it failed, and a reset (POST /api/conda/environment/{e.Name}/reset) rebuilds it",
                    ConsistencyActions.MarkEnvironmentFailed);
            }
        }

        if (!Directory.Exists(paths.Envs))
        {
            return envs;
        }

        var rowPaths = envs.Values.Select(v => v.Path).ToHashSet(StringComparer.Ordinal);
        foreach (var directory in Directory.EnumerateDirectories(paths.Envs))
        {
            var name = Path.GetFileName(directory);

            // Dot directories are the runner's own work in progress (renames, syncs).
            if (name.StartsWith('.') || rowPaths.Contains(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory))) || !run.Settled(LatestWrite(directory))
                || (Core.Validation.EnvironmentName.IsValid(name) && await run.InFlightAsync(locks, name, ct).ConfigureAwait(false)))
            {
                continue;
            }

            var hasInfo = Core.Validation.EnvironmentName.IsValid(name) && await envInfo.ReadAsync(name, ct).ConfigureAwait(false) is not null;
            run.Add(ConsistencyKinds.EnvironmentWithoutRow, name,
                hasInfo
                    ? $"the directory {directory} has no row in the Environments table; its env_info file is imported by the repair (see {ConsistencyKinds.EnvInfoWithoutRow})"
                    : $"the directory {directory} has no row in the Environments table and no env_info file; an environment directory is never deleted by the repair: remove it by hand if it is not needed",
                ConsistencyActions.None);
        }

        return envs;
    }

    /// <summary>The env_info checks; returns the names the repair would import (their logs are not orphans).</summary>
    private async Task<HashSet<string>> EnvInfoAsync(Run run, Dictionary<string, EnvState> envs, CancellationToken ct)
    {
        var importable = new HashSet<string>(StringComparer.Ordinal);
        var files = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in await share.ListFilesAsync(EnvInfoStore.Directory, ct).ConfigureAwait(false))
        {
            if (!file.EndsWith(".json", StringComparison.Ordinal) || !Core.Validation.EnvironmentName.IsValid(file[..^5]))
            {
                continue;
            }

            var name = file[..^5];
            files.Add(name);
            if (envs.ContainsKey(name))
            {
                continue;
            }

            var document = await envInfo.ReadAsync(name, ct).ConfigureAwait(false);
            if ((document is not null && !run.Settled(EnvInfoStore.ToRecord(document, "").UpdatedAt)) || await run.InFlightAsync(locks, name, ct).ConfigureAwait(false))
            {
                continue;
            }

            var directory = Path.Combine(paths.Envs, name);
            if (!Directory.Exists(directory))
            {
                run.Add(ConsistencyKinds.EnvInfoWithoutRow, name,
                    $"env_info/{name}.json has no Environments row and no directory {directory}; repair deletes the file",
                    ConsistencyActions.DeleteEnvInfo);
            }
            else if (document is null)
            {
                run.Add(ConsistencyKinds.EnvInfoWithoutRow, name,
                    $"env_info/{name}.json is unreadable and has no Environments row, but the directory {directory} exists: fix or remove the file by hand",
                    ConsistencyActions.None);
            }
            else if (document.EnvPath is { } documented && Path.TrimEndingDirectorySeparator(Path.GetFullPath(documented)) != Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)))
            {
                run.Add(ConsistencyKinds.EnvInfoWithoutRow, name,
                    $"env_info/{name}.json has no Environments row and names the directory {documented}, not {directory}: not imported",
                    ConsistencyActions.None);
            }
            else
            {
                importable.Add(name);
                run.Add(ConsistencyKinds.EnvInfoWithoutRow, name,
                    $"env_info/{name}.json has no Environments row and its directory {directory} exists; repair imports it as a ready environment (as the host does at start-up)",
                    ConsistencyActions.ImportEnvInfo);
            }
        }

        foreach (var (name, env) in envs)
        {
            if (env.Status is EnvironmentStatus.Ready or EnvironmentStatus.Failed && !files.Contains(name) && run.Settled(env.UpdatedAt)
                && !await run.InFlightAsync(locks, name, ct).ConfigureAwait(false))
            {
                run.Add(ConsistencyKinds.EnvInfoMissing, name, $"the environment is {Status(env.Status)} but env_info/{name}.json is missing; repair writes it from the row", ConsistencyActions.WriteEnvInfo);
            }
        }

        return importable;
    }

    private async Task<Dictionary<long, TaskState>> TasksAsync(Run run, Dictionary<string, EnvState> envs, CancellationToken ct)
    {
        var states = new Dictionary<long, TaskState>();
        await foreach (var t in tasks.ListAsync(null, ct).ConfigureAwait(false))
        {
            states[t.TaskId] = new TaskState(t.Status, t.Trigger.Kind, t.Trigger.Recurring, t.UpdatedAt, t.NextRunAt);
            if (!envs.ContainsKey(t.Environment) && run.Settled(t.UpdatedAt))
            {
                run.Add(ConsistencyKinds.TaskEnvironmentMissing, Id(t.TaskId),
                    $"task '{t.Name}' uses the environment '{t.Environment}', which does not exist; its runs fail until the environment is created or the task's conda_env is changed (PUT /api/tasks/{t.TaskId})",
                    ConsistencyActions.None);
            }
        }

        return states;
    }

    private async Task StuckExecutionsAsync(Run run, CancellationToken ct)
    {
        var stale = TimeSpan.FromSeconds(environmentOptions.Value.RunnerStaleSeconds);
        await foreach (var e in tasks.ListUnfinishedExecutionsAsync(ct).ConfigureAwait(false))
        {
            var (live, instance) = await runs.RunStateAsync(e, ct).ConfigureAwait(false);
            var latest = e.StartTime is { } started && started > e.QueuedAt ? started : e.QueuedAt;

            // A live orchestration still waits on it, and ends it (timeouts, heartbeats, pick-up) by itself.
            if (live || !run.Settled(latest))
            {
                continue;
            }

            var runState = instance?.RuntimeStatus.ToString().ToLowerInvariant() ?? "gone";
            var subject = $"{Id(e.TaskId)}/{e.ExecutionId}";
            var job = e.JobId is { } jobId ? await jobs.GetAsync(jobId, ct).ConfigureAwait(false) : null;
            if (job is { State: RunnerJobStates.Running } && !job.IsStale(run.Now, stale))
            {
                run.Add(ConsistencyKinds.StuckExecution, subject,
                    $"the execution is {e.Status} and its run {e.RunId} is {runState}, but runner job {job.JobId} still runs on {job.RunnerId}: stop the task (POST /api/tasks/{e.TaskId}/stop) to end the process",
                    ConsistencyActions.None);
                continue;
            }

            var jobState = job is null ? "no runner job" : job.State == RunnerJobStates.Running ? $"runner job {job.JobId} silent since {EnvironmentHttp.Date(job.LastHeartbeat ?? job.StartedAt ?? default)}" : $"runner job {job.JobId} {job.State ?? "never started"}";
            run.Add(ConsistencyKinds.StuckExecution, subject,
                $"the execution is {e.Status}, its run {e.RunId} is {runState} and there is {jobState}; repair marks it abnormal and frees the task",
                ConsistencyActions.MarkAbnormal);
        }
    }

    private async Task SchedulesAsync(Run run, Dictionary<long, TaskState> taskStates, CancellationToken ct)
    {
        var live = new HashSet<long>();
        var query = new OrchestrationQuery { InstanceIdPrefix = "schedule-", Statuses = LiveStatuses, PageSize = 500 };
        await foreach (var instance in durable.GetAllInstancesAsync(query).WithCancellation(ct).ConfigureAwait(false))
        {
            if (!long.TryParse(instance.InstanceId.AsSpan("schedule-".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var taskId)
                || instance.InstanceId != TaskInstanceIds.Schedule(taskId))
            {
                continue;
            }

            live.Add(taskId);
            var task = taskStates.GetValueOrDefault(taskId);
            var why = task switch
            {
                null => $"task {taskId} does not exist",
                { Status: TaskStatuses.Stopped } => $"task {taskId} is stopped",
                { Kind: TriggerKind.Now } => $"task {taskId} runs once at creation and has no schedule",
                { Recurring: false, Status: TaskStatuses.Completed or TaskStatuses.Failed } => $"task {taskId} ran once and is {task.Status}",
                _ => null,
            };
            if (why is null || !run.Settled(instance.LastUpdatedAt) || (task is not null && !run.Settled(task.UpdatedAt)))
            {
                continue;
            }

            run.Add(ConsistencyKinds.ScheduleWithoutTask, instance.InstanceId,
                $"{instance.InstanceId} is {instance.RuntimeStatus.ToString().ToLowerInvariant()} but {why}; repair terminates and purges it",
                ConsistencyActions.TerminateSchedule);
        }

        foreach (var (taskId, task) in taskStates)
        {
            var wanted = task.Kind != TriggerKind.Now && (task.Status == TaskStatuses.Scheduled || (task.Status == TaskStatuses.Running && task.Recurring));
            if (!wanted || live.Contains(taskId) || !run.Settled(task.UpdatedAt))
            {
                continue;
            }

            // A one-shot task's schedule ends once it starts the run: that run's instance is the witness.
            if (!task.Recurring && task.NextRunAt is { } due
                && await durable.GetInstanceAsync(TaskInstanceIds.ScheduledRun(taskId, due), getInputsAndOutputs: false, ct).ConfigureAwait(false) is not null)
            {
                continue;
            }

            var schedule = await durable.GetInstanceAsync(TaskInstanceIds.Schedule(taskId), getInputsAndOutputs: false, ct).ConfigureAwait(false);
            if (schedule is not null && !run.Settled(schedule.LastUpdatedAt))
            {
                continue;
            }

            run.Add(ConsistencyKinds.TaskWithoutSchedule, Id(taskId),
                $"task {taskId} is {task.Status} with a {Trigger(task.Kind)} trigger, but {TaskInstanceIds.Schedule(taskId)} is {schedule?.RuntimeStatus.ToString().ToLowerInvariant() ?? "missing"}; repair starts it",
                ConsistencyActions.StartSchedule);
        }
    }

    private async Task LogsAsync(Run run, Dictionary<string, EnvState> envs, Func<string, bool> environmentKnown, Dictionary<long, TaskState> taskStates, CancellationToken ct)
    {
        var container = storage.Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(names));
        if (!await container.ExistsAsync(ct).ConfigureAwait(false))
        {
            return;
        }

        // A page of logs at a time: the executions of the tasks it names are read once each, several at once.
        var page = new List<(string Name, DateTimeOffset Modified, long TaskId, string ExecutionId)>(LogPage);
        await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix: TaskLogPrefix, cancellationToken: ct).ConfigureAwait(false))
        {
            if (TryTaskLog(blob.Name, out var taskId, out var executionId))
            {
                page.Add((blob.Name, blob.Properties.LastModified ?? run.Now, taskId, executionId));
            }

            if (page.Count == LogPage)
            {
                await TaskLogPageAsync(run, page, taskStates, ct).ConfigureAwait(false);
                page.Clear();
            }
        }

        await TaskLogPageAsync(run, page, taskStates, ct).ConfigureAwait(false);

        Dictionary<string, IReadOnlyList<string>>? operations = null;
        var byOperation = envs.Where(e => e.Value.LastOperationId is not null).ToDictionary(e => e.Value.LastOperationId!, e => e.Key, StringComparer.Ordinal);
        await foreach (var blob in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix: EnvironmentLogPrefix, cancellationToken: ct).ConfigureAwait(false))
        {
            var name = blob.Name;
            if (!name.EndsWith(".log", StringComparison.Ordinal) || name.Length <= EnvironmentLogPrefix.Length + 4)
            {
                continue;
            }

            var operation = name[EnvironmentLogPrefix.Length..^4];
            if (byOperation.ContainsKey(operation))
            {
                continue;
            }

            operations ??= await OperationsAsync(ct).ConfigureAwait(false);
            var named = operations.TryGetValue(operation, out var fromInput) ? fromInput : await AuditedEnvironmentAsync(operation, ct).ConfigureAwait(false);
            if (named.Any(environmentKnown) || !run.Settled(blob.Properties.LastModified ?? run.Now))
            {
                continue;
            }

            run.Add(ConsistencyKinds.OrphanedEnvironmentLog, name,
                named.Count == 0
                    ? $"no orchestration or audit row ties operation {operation} to an environment, so no route can read the log; repair deletes it"
                    : $"the environment '{string.Join("', '", named)}' of operation {operation} is gone; repair deletes the log",
                ConsistencyActions.DeleteBlob);
        }
    }

    private async Task TaskLogPageAsync(Run run, List<(string Name, DateTimeOffset Modified, long TaskId, string ExecutionId)> page, Dictionary<long, TaskState> taskStates, CancellationToken ct)
    {
        var executions = new System.Collections.Concurrent.ConcurrentDictionary<long, HashSet<string>>();
        await Parallel.ForEachAsync(
            page.Select(b => b.TaskId).Distinct().Where(taskStates.ContainsKey),
            new ParallelOptions { MaxDegreeOfParallelism = LookupParallelism, CancellationToken = ct },
            async (taskId, token) => executions[taskId] = (await tasks.ListExecutionsAsync(taskId, token).ConfigureAwait(false)).Select(e => e.ExecutionId).ToHashSet(StringComparer.Ordinal)).ConfigureAwait(false);
        foreach (var (name, modified, taskId, executionId) in page)
        {
            var why = !executions.TryGetValue(taskId, out var ids) ? $"task {taskId} does not exist"
                : ids.Contains(executionId) ? null
                : $"task {taskId} has no execution {executionId}";
            if (why is not null && run.Settled(modified))
            {
                run.Add(ConsistencyKinds.OrphanedTaskLog, name, why + "; repair deletes the log", ConsistencyActions.DeleteBlob);
            }
        }
    }

    /// <summary>The environment names of every <c>EnvBuild</c> instance, from their inputs (one paged query).</summary>
    private async Task<Dictionary<string, IReadOnlyList<string>>> OperationsAsync(CancellationToken ct)
    {
        var operations = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var query = new OrchestrationQuery { InstanceIdPrefix = "envbuild-", FetchInputsAndOutputs = true, PageSize = 500 };
        await foreach (var instance in durable.GetAllInstancesAsync(query).WithCancellation(ct).ConfigureAwait(false))
        {
            if (instance.ReadInputAs<EnvBuildInput>() is { } input)
            {
                operations[instance.InstanceId] = input.NewName is { } renamed ? [input.Environment, renamed] : [input.Environment];
            }
        }

        return operations;
    }

    /// <summary>The environment an operation's audit row names, for an operation whose instance was purged.</summary>
    private async Task<IReadOnlyList<string>> AuditedEnvironmentAsync(string operation, CancellationToken ct)
    {
        if (operation.Length is 0 or > 100 || !operation.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            return [];
        }

        var audited = await audit.QueryAsync(new AuditQuery { OperationId = operation, Limit = 1 }, ct).ConfigureAwait(false);
        return audited.Count == 0 || string.IsNullOrEmpty(audited[0].Environment) ? [] : [audited[0].Environment];
    }

    private void ScriptDirectories(Run run, Dictionary<long, TaskState> taskStates)
    {
        if (!Directory.Exists(paths.Scripts))
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(paths.Scripts))
        {
            var name = Path.GetFileName(directory);
            var staging = name.StartsWith(StagingPrefix, StringComparison.Ordinal);
            var isTask = TryTaskId(name, out var taskId);
            if ((!staging && !isTask) || (isTask && taskStates.ContainsKey(taskId)) || !run.Settled(LatestWrite(directory)))
            {
                continue;
            }

            run.Add(ConsistencyKinds.OrphanedScriptDirectory, "scripts/" + name,
                staging ? "an upload's staging directory left behind; repair deletes it" : $"task {taskId} does not exist; repair deletes its script directory",
                ConsistencyActions.DeleteDirectory);
        }
    }

    private async Task ProjectDirectoriesAsync(Run run, CancellationToken ct)
    {
        if (!Directory.Exists(paths.Projects))
        {
            return;
        }

        var tableName = names.Table(ProjectsTable);
        var exists = false;
        await foreach (var _ in storage.Tables.QueryAsync(TableClient.CreateQueryFilter($"TableName eq {tableName}"), cancellationToken: ct).ConfigureAwait(false))
        {
            exists = true;
            break;
        }

        if (!exists)
        {
            return;
        }

        var table = storage.Tables.GetTableClient(tableName);
        foreach (var directory in Directory.EnumerateDirectories(paths.Projects))
        {
            var name = Path.GetFileName(directory);
            if (name.StartsWith('.'))
            {
                continue;
            }

            var found = false;
            var filter = TableClient.CreateQueryFilter($"RowKey eq {name} or Name eq {name}");
            await foreach (var _ in table.QueryAsync<TableEntity>(filter, maxPerPage: 1, select: ["RowKey"], cancellationToken: ct).ConfigureAwait(false))
            {
                found = true;
                break;
            }

            if (!found && run.Settled(LatestWrite(directory)))
            {
                run.Add(ConsistencyKinds.OrphanedProjectDirectory, "projects/" + name,
                    "no Projects row names this directory; a project's files are user code, so the repair lists it only: delete it by hand if it is not needed",
                    ConsistencyActions.None);
            }
        }
    }

    /// <summary><c>tasks/{task_id}/{execution_id}.log</c>.</summary>
    internal static bool TryTaskLog(string blobName, out long taskId, out string executionId)
    {
        executionId = "";
        taskId = 0;
        var parts = blobName.Split('/');
        if (parts.Length != 3 || !TryTaskId(parts[1], out taskId) || !parts[2].EndsWith(".log", StringComparison.Ordinal) || parts[2].Length <= 4)
        {
            return false;
        }

        executionId = parts[2][..^4];
        return blobName == ExecutionRecord.LogBlobOf(taskId, executionId);
    }

    /// <summary>A task id as written in paths and subjects: digits only, canonical, at least 1.</summary>
    internal static bool TryTaskId(string text, out long taskId) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out taskId) && taskId >= 1 && Id(taskId) == text;

    internal static string Id(long taskId) => taskId.ToString(CultureInfo.InvariantCulture);

    private static string Status(EnvironmentStatus status) => status.ToString().ToLowerInvariant();

    private static string Trigger(TriggerKind kind) => kind.ToString().ToLowerInvariant();

    private sealed record EnvState(EnvironmentStatus Status, string Path, DateTimeOffset UpdatedAt, string? LastOperationId);

    private sealed record TaskState(string Status, TriggerKind Kind, bool Recurring, DateTimeOffset UpdatedAt, DateTimeOffset? NextRunAt);

    /// <summary>One check's findings and the time line it judges freshness by.</summary>
    private sealed class Run(DateTimeOffset now, TimeSpan grace)
    {
        public DateTimeOffset Now { get; } = now;

        public List<ConsistencyFinding> Findings { get; } = [];

        public int SkippedRecent { get; private set; }

        /// <summary>Whether <paramref name="changedAt"/> is older than the grace period; counts what is not.</summary>
        public bool Settled(DateTimeOffset changedAt)
        {
            if (changedAt <= Now - grace)
            {
                return true;
            }

            SkippedRecent++;
            return false;
        }

        /// <summary>Whether an operation holds the environment's lock (a build, rename or delete in flight); counted like a recent change.</summary>
        public async Task<bool> InFlightAsync(IEnvironmentLock locks, string name, CancellationToken ct)
        {
            if (await locks.GetAsync(name, ct).ConfigureAwait(false) is null)
            {
                return false;
            }

            SkippedRecent++;
            return true;
        }

        public void Add(string kind, string subject, string detail, string action) =>
            Findings.Add(new ConsistencyFinding(kind, subject, detail, action != ConsistencyActions.None, action));
    }
}
