using System.Text.Json;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Pools;
using EnvFabric.Core.Projects;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Tasks;
using EnvFabric.Durable.Client;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace EnvFabric.Activities.Tasks;

/// <summary>
/// Records an attempt as <c>queued</c> and returns what it runs, read from the task now. A scheduled occurrence
/// of a stopped or paused task records nothing; one that finds the task's previous run still going records
/// <c>skipped</c> (overlap <c>skip</c>). Re-running it keeps an existing row.
/// </summary>
public sealed class PrepareTaskExecutionActivity(
    ITaskRepository tasks, IEnvironmentRepository environments, IProjectRepository projects, TaskSlots slots, IRunnerJobQueue queue, IRunnerControl control, IRunVariables variables, DataPaths paths, TimeProvider time,
    IServiceProvider services)
    : TaskActivity<PrepareExecutionRequest, ExecutionPlan>
{
    public const string Name = "PrepareTaskExecution";

    public override async Task<ExecutionPlan> RunAsync(TaskActivityContext context, PrepareExecutionRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var task = await tasks.GetAsync(input.TaskId, CancellationToken.None).ConfigureAwait(false);
        if (task is null)
        {
            return new ExecutionPlan { Reason = $"task {input.TaskId} was deleted" };
        }

        var scheduled = input.Trigger is not (ExecutionTriggers.Manual or ExecutionTriggers.Retry);
        if ((scheduled && task.Status is TaskStatuses.Stopped or TaskStatuses.Paused) || (input.Trigger == ExecutionTriggers.Retry && task.Status == TaskStatuses.Stopped))
        {
            return new ExecutionPlan { Reason = $"the task is {task.Status}" };
        }

        var existing = await tasks.GetExecutionAsync(input.TaskId, input.ExecutionId, CancellationToken.None).ConfigureAwait(false);
        var log = ExecutionRecord.LogBlobOf(input.TaskId, input.ExecutionId);
        var record = existing ?? new ExecutionRecord
        {
            TaskId = input.TaskId,
            ExecutionId = input.ExecutionId,
            RunId = input.RunId,
            Attempt = input.Attempt,
            Trigger = input.Trigger,
            Status = ExecutionStatuses.Queued,
            Environment = task.Environment,
            DueAt = input.DueAt,
            QueuedAt = input.QueuedAt,
            LogBlob = log,
            Pool = task.Pool,
        };

        // The task's run in progress, if any (a current execution that already ended, or vanished, is stale).
        var previous = task.CurrentExecutionId is { } current && current != input.ExecutionId
            ? await tasks.GetExecutionAsync(input.TaskId, current, CancellationToken.None).ConfigureAwait(false)
            : null;
        var busy = previous is not null && !ExecutionStatuses.IsFinal(previous.Status);
        if (existing is null && scheduled && task.Overlap == OverlapPolicies.Skip && busy)
        {
            var now = time.GetUtcNow();
            await tasks.UpsertExecutionAsync(
                record with { Status = ExecutionStatuses.Skipped, StartTime = now, EndTime = now, Error = $"the previous run ({previous!.ExecutionId}) was still {previous.Status}" },
                CancellationToken.None).ConfigureAwait(false);
            return new ExecutionPlan { Reason = "the previous run was still going", RecordedStatus = ExecutionStatuses.Skipped };
        }

        if (existing is not null && ExecutionStatuses.IsFinal(existing.Status))
        {
            return new ExecutionPlan { Reason = "the attempt already ended", RecordedStatus = existing.Status };
        }

        await tasks.UpsertExecutionAsync(record, CancellationToken.None).ConfigureAwait(false);
        // A run waiting behind another (overlap queue or allow) becomes current when it is dispatched.
        await tasks.MutateAsync(
            input.TaskId,
            t => busy ? t with { LastExecutionId = input.ExecutionId } : t with { CurrentExecutionId = input.ExecutionId, LastExecutionId = input.ExecutionId, CurrentJobId = null },
            CancellationToken.None).ConfigureAwait(false);

        var environment = await environments.GetAsync(task.Environment, CancellationToken.None).ConfigureAwait(false);
        var plan = new ExecutionPlan
        {
            Proceed = true,
            Environment = task.Environment,
            EnvironmentDirectory = environment?.Path ?? "",
            Backend = environment?.Backend ?? EnvironmentBackend.Venv,
            WorkingDirectory = Path.Combine(paths.DataRoot, task.ScriptDirectory),
            Command = task.Command,
            TimeoutSeconds = task.TimeoutSeconds,
            MaxRetries = task.Retry.MaxRetries,
            RetryIntervalSeconds = task.Retry.RetryIntervalSeconds,
            ExponentialBackoff = task.Retry.ExponentialBackoff,
            PriorityRank = task.EffectivePriority,
            OnePerTask = task.Overlap != OverlapPolicies.Allow,
            LogBlob = log,
            Pool = task.Pool,
            Quotas = task.Quotas,
        };

        if (environment is null or { Status: EnvironmentStatus.Deleting })
        {
            return plan with { Proceed = false, Reason = $"Environment '{task.Environment}' not found", RecordedStatus = ExecutionStatuses.Queued };
        }

        if (task.Project is { } projectName)
        {
            var (directories, refusal) = await ProjectDirectoriesAsync(projectName).ConfigureAwait(false);
            if (refusal is not null)
            {
                return plan with { Proceed = false, Reason = refusal, RecordedStatus = ExecutionStatuses.Queued };
            }

            plan = plan with { WorkingDirectory = directories.Work, OutputDirectory = directories.Output };
        }

        // The usual case, a free slot: take it and dispatch now, saving the orchestration two round trips.
        if (input.Fast is { } fast)
        {
            var grant = await slots.AcquireAsync(
                PoolSlots.Request(PoolSlots.Current(services, fast.Limit), plan.Pool, input.ExecutionId, input.RunId, input.TaskId, plan.PriorityRank, input.DueAt, plan.OnePerTask, fast.Limit),
                CancellationToken.None).ConfigureAwait(false);
            if (grant.Granted)
            {
                try
                {
                    await DispatchTaskJobActivity.DispatchAsync(tasks, queue, control, variables, time, new DispatchTaskJobRequest(input.TaskId, input.ExecutionId, fast.JobId, input.RunId, plan)).ConfigureAwait(false);
                    return plan with { Dispatched = true };
                }
                catch (Core.Settings.SecretDecryptionException)
                {
                    // The dispatch activity meets the same refusal and the attempt fails with it (the slot grant is kept: it is idempotent).
                    return plan;
                }
            }
        }

        return plan;
    }

    /// <summary>
    /// A project task's working directory (the project's work_dir) and output folder, which is created now. Both are
    /// checked again as the API checked them, since the project's files may have changed since.
    /// </summary>
    private async Task<((string Work, string? Output) Directories, string? Refusal)> ProjectDirectoriesAsync(string name)
    {
        var project = await projects.GetAsync(name, CancellationToken.None).ConfigureAwait(false);
        var root = Path.Combine(paths.Projects, name);
        if (project is null || !Directory.Exists(root))
        {
            return (default, $"Project '{name}' not found");
        }

        var (work, workError) = ProjectPath.Resolve(root, project.WorkDir);
        if (work is null || !Directory.Exists(work))
        {
            return (default, $"the work_dir '{project.WorkDir}' of project '{name}' " + (workError ?? "does not exist"));
        }

        if (project.OutputDir is null)
        {
            return ((work, null), null);
        }

        var (output, outputError) = ProjectPath.Resolve(root, project.OutputDir);
        if (output is null || File.Exists(output))
        {
            return (default, $"the output_dir '{project.OutputDir}' of project '{name}' " + (outputError ?? "is a file"));
        }

        Directory.CreateDirectory(output);
        return ((work, output), null);
    }
}

/// <summary>
/// Asks for a concurrency slot of the run's pool (<see cref="TaskSlots"/>), with the pool's capacity and queues as the
/// pool configuration says now; a run of a stopped or deleted task gives up its place.
/// </summary>
public sealed class AcquireTaskSlotActivity(ITaskRepository tasks, TaskSlots slots, IServiceProvider services) : TaskActivity<AcquireSlotRequest, AcquireSlotResponse>
{
    public const string Name = "AcquireTaskSlot";

    public override async Task<AcquireSlotResponse> RunAsync(TaskActivityContext context, AcquireSlotRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var task = await tasks.GetAsync(input.TaskId, CancellationToken.None).ConfigureAwait(false);
        if (task is null || task.Status == TaskStatuses.Stopped)
        {
            await slots.ReleaseAsync(input.ExecutionId, 0, input.Pool, CancellationToken.None).ConfigureAwait(false);
            return new AcquireSlotResponse(false, true, 0);
        }

        var grant = await slots.AcquireAsync(
            PoolSlots.Request(PoolSlots.Current(services, input.Limit), input.Pool, input.ExecutionId, input.InstanceId, input.TaskId, input.PriorityRank, input.QueuedAt, input.OnePerTask, input.Limit),
            CancellationToken.None).ConfigureAwait(false);
        return new AcquireSlotResponse(grant.Granted, false, grant.Position);
    }
}

/// <summary>
/// Enqueues the attempt's script job and marks the execution and the task running. A task paused meanwhile
/// gets its pause recorded on the job first, so the runner starts the process stopped.
/// </summary>
public sealed class DispatchTaskJobActivity(ITaskRepository tasks, IRunnerJobQueue queue, IRunnerControl control, IRunVariables variables, TimeProvider time)
    : TaskActivity<DispatchTaskJobRequest, bool>
{
    public const string Name = "DispatchTaskJob";

    public override async Task<bool> RunAsync(TaskActivityContext context, DispatchTaskJobRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        await DispatchAsync(tasks, queue, control, variables, time, input).ConfigureAwait(false);
        return true;
    }

    /// <summary>Marks the task and the execution running and enqueues the job (also the prepare step's fast path).</summary>
    internal static async Task DispatchAsync(ITaskRepository tasks, IRunnerJobQueue queue, IRunnerControl control, IRunVariables variables, TimeProvider time, DispatchTaskJobRequest input)
    {
        var plan = input.Plan;
        var now = time.GetUtcNow();
        var task = await tasks.MutateAsync(
            input.TaskId,
            t => t with
            {
                CurrentJobId = input.JobId,
                CurrentExecutionId = input.ExecutionId,
                Status = t.Status is TaskStatuses.Paused or TaskStatuses.Stopped ? t.Status : TaskStatuses.Running,
                LastRunAt = now,
            },
            CancellationToken.None).ConfigureAwait(false);
        var execution = await tasks.GetExecutionAsync(input.TaskId, input.ExecutionId, CancellationToken.None).ConfigureAwait(false);

        // A task paused meanwhile starts its process stopped; a manual trigger of a paused task is a run on purpose.
        if (task?.Status == TaskStatuses.Paused && execution?.Trigger != ExecutionTriggers.Manual)
        {
            await control.SendAsync(input.JobId, RunnerControlAction.Pause, CancellationToken.None).ConfigureAwait(false);
        }

        if (execution is not null)
        {
            await tasks.UpsertExecutionAsync(execution with { Status = ExecutionStatuses.Running, JobId = input.JobId, StartTime = now }, CancellationToken.None).ConfigureAwait(false);
        }

        // Resolved here, never in the plan: values must not enter the durable history.
        var resolved = task is null ? ResolvedVariables.None : await variables.ResolveAsync(task, input.ExecutionId, CancellationToken.None).ConfigureAwait(false);
        // A rendered v2 job's variables first; configured variables of the same name win.
        var environmentVariables = new Dictionary<string, string>(task?.Variables ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        foreach (var (name, value) in resolved.Plain)
        {
            environmentVariables[name] = value;
        }

        if (plan.OutputDirectory is { } output)
        {
            // The runner's own name (variables may not use ENVFABRIC_*), so it never collides with a configured one.
            environmentVariables[ProjectRecord.OutputDirectoryVariable] = output;
        }

        // An edited script or project file is what the next run runs: no bytecode is written beside the user's code,
        // where Python would trust it after a same-length edit within the same second (a variable may say otherwise).
        environmentVariables.TryAdd("PYTHONDONTWRITEBYTECODE", "1");

        await queue.EnqueueAsync(
            new ScriptJob
            {
                JobId = input.JobId,
                InstanceId = input.InstanceId,
                LogBlobName = plan.LogBlob,
                EnvironmentDirectory = plan.EnvironmentDirectory,
                Backend = plan.Backend,
                WorkingDirectory = plan.WorkingDirectory,
                Command = plan.Command,
                EnvironmentName = plan.Environment,
                TimeoutSeconds = plan.TimeoutSeconds,
                TaskId = input.TaskId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ExecutionId = input.ExecutionId,
                ProgressEvents = false,
                EnvironmentVariables = environmentVariables,
                Secrets = new Dictionary<string, string>(resolved.Secrets, StringComparer.Ordinal),
                Pool = plan.Pool,
                MemoryLimitMb = plan.Quotas?.MemoryMb,
                CpuLimit = plan.Quotas?.Cpu,
                Version = plan.Quotas is { MemoryMb: not null } or { Cpu: not null } ? RunnerJob.QuotaVersion : 1,
            },
            CancellationToken.None).ConfigureAwait(false);
    }
}


/// <summary>
/// Records how an attempt ended (status, exit code, metrics), updates the task (last run, status, current
/// run), writes the audit row and gives the concurrency slot back. Idempotent: a re-run writes the same.
/// </summary>
public sealed class FinishTaskExecutionActivity(ITaskRepository tasks, TaskSlots slots, IAuditLog audit, TimeProvider time, DurableTaskClient client, CallbackOptions callbacks)
    : TaskActivity<FinishExecutionRequest, FinishExecutionResponse>
{
    public const string Name = "FinishTaskExecution";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public override async Task<FinishExecutionResponse> RunAsync(TaskActivityContext context, FinishExecutionRequest input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var now = time.GetUtcNow();
        var r = input.Result;
        var execution = await tasks.GetExecutionAsync(input.TaskId, input.ExecutionId, CancellationToken.None).ConfigureAwait(false);
        if (execution is not null)
        {
            var start = r?.ProcessStartedAt ?? r?.StartedAt ?? execution.StartTime;
            var end = r?.ProcessExitedAt ?? r?.FinishedAt ?? now;
            execution = execution with
            {
                Status = input.Status,
                Error = input.Error,
                StartTime = start,
                EndTime = end,
                ExitCode = r?.ExitCode,
                Duration = start is { } s ? Math.Round(Math.Max(0, (end - s).TotalSeconds), 3) : null,
                PeakMemoryMb = r?.PeakMemoryMb,
                AvgMemoryMb = r?.AverageMemoryMb,
                CpuSeconds = r?.CpuSeconds,
                RunnerId = input.RunnerId ?? r?.RunnerId ?? execution.RunnerId,
            };
            await tasks.UpsertExecutionAsync(execution, CancellationToken.None).ConfigureAwait(false);
        }

        var retry = false;
        var task = await tasks.MutateAsync(
            input.TaskId,
            t =>
            {
                retry = input.WillRetry && t.Status != TaskStatuses.Stopped;
                var mine = t.CurrentExecutionId == input.ExecutionId;
                var status = t.Status switch
                {
                    TaskStatuses.Paused or TaskStatuses.Stopped => t.Status,
                    _ when !mine && t.CurrentExecutionId is not null => t.Status,
                    // A schedule that has made its MaxRuns runs ends the task like a one-shot's run does.
                    _ when retry || (t.Trigger.Recurring && !t.RunsExhausted) => TaskStatuses.Scheduled,
                    _ when input.Status == ExecutionStatuses.Completed => TaskStatuses.Completed,
                    _ => TaskStatuses.Failed,
                };
                return t with
                {
                    Status = status,
                    CurrentExecutionId = mine ? null : t.CurrentExecutionId,
                    CurrentJobId = mine ? null : t.CurrentJobId,
                    LastRunAt = execution?.StartTime ?? t.LastRunAt,
                    LastRunDuration = execution?.Duration ?? t.LastRunDuration,
                    CompletedAt = status is TaskStatuses.Completed or TaskStatuses.Failed ? now : t.CompletedAt,
                };
            },
            CancellationToken.None).ConfigureAwait(false);

        try
        {
            await audit.WriteAsync(
                new AuditRecord
                {
                    Id = "taskrun-" + input.ExecutionId,
                    At = now,
                    Operation = "task.run",
                    Environment = execution?.Environment ?? task?.Environment ?? "",
                    Who = input.Who,
                    ClientIp = input.ClientIp,
                    Inputs = JsonSerializer.Serialize(new { task_id = input.TaskId, execution_id = input.ExecutionId, attempt = input.Attempt, trigger = execution?.Trigger, exit_code = r?.ExitCode }, Json),
                    Outcome = input.Status == ExecutionStatuses.Completed ? "succeeded" : input.Status,
                    DurationMs = (long)((execution?.Duration ?? 0) * 1000),
                    Error = input.Error,
                    OperationId = input.RunId,
                },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (AuditWriteException)
        {
            // The run's own record is written; an audit outage must not hold the concurrency slot.
        }

        // Always: the attempt may hold a slot, or a place in the line, of its pool; the pool's waiters are woken.
        var wake = await slots.ReleaseAsync(input.ExecutionId, 3, execution?.Pool ?? task?.Pool, CancellationToken.None).ConfigureAwait(false);

        // The run's final outcome (no retry follows) goes to the task's callback, delivered by its own orchestration.
        if (!retry && task?.CallbackUrl is { Length: > 0 } url && execution is not null)
        {
            await StartCallbackAsync(task, execution, url, r).ConfigureAwait(false);
        }

        return new FinishExecutionResponse(retry && task is not null, wake);
    }

    private async Task StartCallbackAsync(TaskRecord task, ExecutionRecord execution, string url, JobResult? result)
    {
        if (execution.CallbackStatus is null)
        {
            await tasks.UpsertExecutionAsync(execution with { CallbackStatus = CallbackStatuses.Pending }, CancellationToken.None).ConfigureAwait(false);
        }

        var message = execution.Status == ExecutionStatuses.Completed
            ? $"the run completed (exit code {result?.ExitCode ?? 0})"
            : execution.Error ?? (result?.ExitCode is { } code ? $"exit code {code}" : execution.Status);
        // Seed 002's uuid names a v2 task; a task made through /api/tasks is named by its id.
        var payload = new CallbackPayload(task.Name, task.Uuid ?? task.TaskId.ToString(System.Globalization.CultureInfo.InvariantCulture), execution.ExecutionId, execution.Status, message);
        var body = JsonSerializer.Serialize(payload, Json);
        await client.TryScheduleNewAsync(
            TaskOrchestratorNames.Callback,
            TaskInstanceIds.Callback(execution.ExecutionId),
            new CallbackInput(task.TaskId, execution.ExecutionId, url, task.Namespace, body, callbacks.MaxAttempts, callbacks.RetrySeconds, callbacks.TimeoutSeconds),
            cancellationToken: CancellationToken.None).ConfigureAwait(false);
    }
}
