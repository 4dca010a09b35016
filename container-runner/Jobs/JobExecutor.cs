using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Runner.Backends;
using EnvFabric.Runner.Discovery;
using EnvFabric.Runner.Logs;
using EnvFabric.Runner.Processes;
using Microsoft.Extensions.Options;

namespace EnvFabric.Runner.Jobs;

/// <summary>
/// Runs one job from start to its stored result: log blob, processes, metrics, heartbeats, control, the result
/// in the jobs table, and the Started/Heartbeat/Completed events to the waiting orchestration.
/// </summary>
public sealed class JobExecutor(
    RunnerState state,
    RunnerJobTable jobs,
    IJobEventSink events,
    StorageAccount storage,
    StorageNames names,
    DataPaths paths,
    IOptions<EnvFabricOptions> settings,
    IOptions<RunnerOptions> runnerOptions,
    ProcessSampler sampler,
    ProcessRunnerSettings processSettings,
    IEnumerable<EnvironmentBackendBase> backends,
    ToolDiscovery discovery,
    TimeProvider time,
    ILogger<JobExecutor> logger)
{
    private readonly BlobContainerClient _logs = storage.Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(names));
    private readonly RunnerOptions _options = runnerOptions.Value;

    /// <summary>A job refused before running (still logged, stored and reported).</summary>
    public Task<JobResult> RejectAsync(RunnerJob job, string error, CancellationToken cancellationToken) =>
        ExecuteAsync(job, existing: null, rejection: error, cancellationToken);

    public Task<JobResult> ExecuteAsync(RunnerJob job, RunnerJobRecord? existing, CancellationToken cancellationToken) =>
        ExecuteAsync(job, existing, rejection: null, cancellationToken);

    private async Task<JobResult> ExecuteAsync(RunnerJob job, RunnerJobRecord? existing, string? rejection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var startedAt = time.GetUtcNow();
        var kind = KindOf(job);
        logger.JobStarted(job.JobId, kind, job.InstanceId);

        // Recorded while the first process starts: it only has to land before the heartbeat and the result.
        var markRunning = jobs.MarkRunningAsync(job.JobId, state.RunnerId, job.InstanceId, startedAt, cancellationToken);
        using var control = new JobControl();
        state.ActiveJobs[job.JobId] = control;
        var secrets = job is ScriptJob script ? script.Secrets.Values : [];
        await using var log = new JobLogWriter(
            _logs.GetAppendBlobClient(job.LogBlobName),
            TimeSpan.FromMilliseconds(_options.LogFlushMilliseconds),
            _options.LogMaxBytes,
            _options.LogBacklogBytes,
            _options.LogTailBytes,
            secrets,
            logger);
        log.Start(cancellationToken);
        var metrics = new JobMetrics();
        var processes = new SupervisedProcessRunner(log, control, metrics, sampler, processSettings with { TailBytes = _options.ResultTailBytes }, time);
        Task started = Task.CompletedTask;
        processes.FirstProcessStarted = (pid, at) =>
            started = !job.ProgressEvents || !RaisesEvents(job) ? Task.CompletedTask : ReportAsync(RunnerEvents.Started, job, () => events.StartedAsync(job.InstanceId, new JobStartedEvent(job.JobId, state.RunnerId, startedAt, pid, at), CancellationToken.None));

        if (existing?.Control == "stop")
        {
            control.Stop();
        }
        else if (existing?.Control == "pause")
        {
            control.Pause();
        }

        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = HeartbeatLoopAsync(job, control, metrics, markRunning, existing?.Control, startedAt, heartbeatStop.Token);

        EnvironmentOutcome outcome;
        try
        {
            outcome = rejection is not null ? EnvironmentOutcome.Rejected(rejection)
                : control.StopRequested ? new EnvironmentOutcome { Status = JobStatus.Cancelled, Error = "stopped before it started" }
                : Validate(job) is { } invalid ? EnvironmentOutcome.Rejected(invalid)
                : job is ScriptJob s ? await RunScriptAsync(s, processes, cancellationToken)
                : job is PythonInstallJob install ? await InstallPythonAsync(install, processes, log, cancellationToken)
                : await RunEnvironmentJobAsync(job, processes, log, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A failing job step (unreadable tool output, a file system error) fails the job, never the runner.
            logger.JobCrashed(ex, job.JobId);
            outcome = EnvironmentOutcome.Failed(ex.Message);
        }

        if (outcome.Status == JobStatus.Rejected)
        {
            log.WriteLine("[envfabric] rejected: " + outcome.Error);
        }
        else if (outcome.Status == JobStatus.Cancelled && !control.StopRequested && cancellationToken.IsCancellationRequested)
        {
            outcome = outcome with { Error = "the runner shut down" };
        }

        if (processes.FirstStartedAt is null && job.ProgressEvents && RaisesEvents(job))
        {
            started = ReportAsync(RunnerEvents.Started, job, () => events.StartedAsync(job.InstanceId, new JobStartedEvent(job.JobId, state.RunnerId, startedAt, null, null), CancellationToken.None));
        }

        await heartbeatStop.CancelAsync();
        await heartbeat;
        var finishedAt = time.GetUtcNow();
        var result = new JobResult
        {
            JobId = job.JobId,
            Kind = kind,
            Status = outcome.Status,
            ExitCode = outcome.ExitCode,
            Error = outcome.Error,
            RunnerId = state.RunnerId,
            StartedAt = startedAt,
            FinishedAt = finishedAt,
            DurationSeconds = (finishedAt - startedAt).TotalSeconds,
            PeakMemoryMb = Math.Round(metrics.PeakMemoryMb, 3),
            AverageMemoryMb = Math.Round(metrics.AverageMemoryMb, 3),
            CpuSeconds = Math.Round(metrics.CpuSeconds, 3),
            ProcessStartedAt = processes.FirstStartedAt,
            ProcessExitedAt = processes.LastExitedAt,
            StdoutTail = processes.StdoutTail,
            StderrTail = processes.StderrTail,
            LogComplete = true,
            Packages = outcome.Packages,
            Dependencies = outcome.Dependencies,
            Lock = outcome.Lock,
            FailedPackages = outcome.FailedPackages,
            PythonVersion = outcome.PythonVersion,
            EnvironmentDirectory = outcome.EnvironmentDirectory ?? (job is ScriptJob ? null : job.EnvironmentDirectory),
            Warnings = outcome.Warnings,
        };

        foreach (var failure in result.FailedPackages)
        {
            log.WriteLine($"[envfabric] failed package {failure.Package}: {failure.Error}");
        }

        // The result is stored before it is announced: a crash after this point redelivers the message, the
        // finished row stops a second run, and the same result is raised again.
        await markRunning;
        var logged = CompleteLogAsync(log, result);
        await jobs.MarkFinishedAsync(result, CancellationToken.None);
        if (!await logged)
        {
            // Rare: the log could not be finished; the stored result says so (still before it is announced).
            result = result with { LogComplete = false };
            await jobs.MarkFinishedAsync(result, CancellationToken.None);
        }

        await started;
        if (RaisesEvents(job))
        {
            await ReportAsync(RunnerEvents.Completed, job, () => events.CompletedAsync(job.InstanceId, new JobCompletedEvent(job.JobId, result), CancellationToken.None));
        }

        state.ActiveJobs.TryRemove(job.JobId, out _);
        logger.JobFinished(job.JobId, RunnerJson.Serialize(result.Status).Trim('"'), result.ExitCode, result.DurationSeconds);
        return result;
    }

    private async Task<bool> CompleteLogAsync(JobLogWriter log, JobResult result)
    {
        try
        {
            await log.CompleteAsync(RunnerLogs.CompletionLine(result), CancellationToken.None);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.ReportFailed(ex, "log completion", result.JobId);
            return false;
        }
    }

    /// <summary>Re-raises the stored result of a job that already finished (its first Completed may have been lost).</summary>
    public Task ReportFinishedAsync(RunnerJob job, JobResult result) =>
        !RaisesEvents(job) ? Task.CompletedTask : ReportAsync(RunnerEvents.Completed, job, () => events.CompletedAsync(job.InstanceId, new JobCompletedEvent(job.JobId, result), CancellationToken.None));

    /// <summary>A job without an instance id has no orchestration waiting on it: its result is read from the jobs table.</summary>
    private static bool RaisesEvents(RunnerJob job) => !string.IsNullOrEmpty(job.InstanceId);

    public static string KindOf(RunnerJob job) => job switch
    {
        CreateEnvironmentJob => JobKinds.CreateEnvironment,
        AddPackagesJob => JobKinds.AddPackages,
        RemovePackagesJob => JobKinds.RemovePackages,
        SyncEnvironmentJob => JobKinds.SyncEnvironment,
        LockEnvironmentJob => JobKinds.LockEnvironment,
        ListPackagesJob => JobKinds.ListPackages,
        RenameEnvironmentJob => JobKinds.RenameEnvironment,
        DeleteEnvironmentJob => JobKinds.DeleteEnvironment,
        RunCodeJob => JobKinds.RunCode,
        ScriptJob => JobKinds.Script,
        PythonInstallJob => JobKinds.PythonInstall,
        _ => job?.GetType().Name ?? "unknown",
    };

    /// <summary>Paths from a message are confined to the share: environments under ENVS_BASE_PATH, scripts under DATA_ROOT.</summary>
    private string? Validate(RunnerJob job)
    {
        if (job is PythonInstallJob install)
        {
            return !string.Equals(Path.GetFullPath(install.EnvironmentDirectory), paths.Python, StringComparison.Ordinal) ? $"the interpreter directory must be {paths.Python}"
                : !PythonInstallJob.IsValidVersion(install.PythonVersion) ? $"invalid Python version '{install.PythonVersion}' (use 3.X or 3.X.Y)"
                : null;
        }

        if (!EnvironmentLayout.IsUnder(paths.Envs, job.EnvironmentDirectory))
        {
            return $"the environment directory must be inside {paths.Envs}";
        }

        if (job is RenameEnvironmentJob rename && !EnvironmentLayout.IsUnder(paths.Envs, rename.NewDirectory))
        {
            return $"the new environment directory must be inside {paths.Envs}";
        }

        if (job is ScriptJob script)
        {
            if (!EnvironmentLayout.IsUnder(paths.DataRoot, script.WorkingDirectory, allowRoot: false))
            {
                return $"the working directory must be inside {paths.DataRoot}";
            }

            if (!CommandLine.TrySplit(script.Command, out _, out var error))
            {
                return "invalid command: " + error;
            }

            if (RunQuota.Of(script.MemoryLimitMb, script.CpuLimit)?.Invalid() is { } badQuota)
            {
                return badQuota;
            }

            var bad = script.EnvironmentVariables.Keys.Concat(script.Secrets.Keys).FirstOrDefault(k => k.Length == 0 || k.Contains('=', StringComparison.Ordinal) || k.Any(char.IsControl));
            if (bad is not null)
            {
                return $"invalid environment variable name '{bad}'";
            }
        }

        return null;
    }

    private async Task<EnvironmentOutcome> RunEnvironmentJobAsync(RunnerJob job, SupervisedProcessRunner processes, JobLogWriter log, CancellationToken cancellationToken)
    {
        var capabilities = await state.Capabilities.WaitAsync(cancellationToken);
        var backend = backends.FirstOrDefault(b => b.Kind == job.Backend);
        if (backend is null || !capabilities.Backends.Contains(job.Backend))
        {
            return EnvironmentOutcome.Failed($"the {job.Backend.ToString().ToLowerInvariant()} backend is not available on runner {state.RunnerId}");
        }

        var context = new BackendContext(processes, log.WriteLine, capabilities, settings.Value, paths, _options, job.PackageIndex);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (job is not RunCodeJob)
        {
            limit.CancelAfter(TimeSpan.FromSeconds(job.TimeoutSeconds ?? _options.EnvironmentJobTimeoutSeconds));
        }

        try
        {
            var outcome = await backend.ExecuteAsync(job, context, limit.Token);

            // The process runner reports a cancelled token as "cancelled"; when it was this job's own limit, say so.
            return outcome.Status == JobStatus.Cancelled && limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested && !processes.StopRequested
                ? outcome with { Status = JobStatus.TimedOut, Error = $"the environment job timed out after {job.TimeoutSeconds ?? _options.EnvironmentJobTimeoutSeconds} s" }
                : outcome;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new EnvironmentOutcome { Status = JobStatus.TimedOut, Error = "the environment job timed out" };
        }
    }

    private async Task<EnvironmentOutcome> InstallPythonAsync(PythonInstallJob job, SupervisedProcessRunner processes, JobLogWriter log, CancellationToken cancellationToken)
    {
        var capabilities = await state.Capabilities.WaitAsync(cancellationToken);
        var context = new BackendContext(processes, log.WriteLine, capabilities, settings.Value, paths, _options);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(job.TimeoutSeconds ?? _options.EnvironmentJobTimeoutSeconds));
        var outcome = await PythonInstaller.InstallAsync(job, context, limit.Token);
        if (outcome.Status == JobStatus.Cancelled && limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested && !processes.StopRequested)
        {
            outcome = outcome with { Status = JobStatus.TimedOut, Error = $"the install timed out after {job.TimeoutSeconds ?? _options.EnvironmentJobTimeoutSeconds} s" };
        }

        if (outcome.Status == JobStatus.Succeeded)
        {
            // The new interpreter is on the share: discover again and publish at once, so python-versions shows it.
            var refreshed = await discovery.DiscoverAsync(cancellationToken);
            state.SetCapabilities(refreshed);
            state.RequestPublish();
            log.WriteLine($"[envfabric] discovery now finds Python {string.Join(", ", refreshed.Pythons.Select(p => p.Version))}");
        }

        return outcome;
    }

    private async Task<EnvironmentOutcome> RunScriptAsync(ScriptJob job, SupervisedProcessRunner processes, CancellationToken cancellationToken)
    {
        var argv = CommandLine.Split(job.Command);
        var bin = EnvironmentLayout.BinDirectory(job.Backend, job.EnvironmentDirectory);
        if (!Directory.Exists(bin))
        {
            return EnvironmentOutcome.Failed($"the environment {job.EnvironmentName ?? job.EnvironmentDirectory} has no interpreter ({bin} is missing)");
        }

        if (!Directory.Exists(job.WorkingDirectory))
        {
            return EnvironmentOutcome.Failed($"the working directory {job.WorkingDirectory} does not exist");
        }

        var basePath = processSettings.BaseEnvironment.TryGetValue("PATH", out var p) ? p : "/usr/local/bin:/usr/bin:/bin";
        var env = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["PATH"] = bin + ":" + basePath,
            ["PYTHONUNBUFFERED"] = "1",
            ["ENVFABRIC_JOB_ID"] = job.JobId,
            ["ENVFABRIC_TASK_ID"] = job.TaskId,
            ["ENVFABRIC_EXECUTION_ID"] = job.ExecutionId,
            [job.Backend == EnvironmentBackend.Conda ? "CONDA_PREFIX" : "VIRTUAL_ENV"] = EnvironmentLayout.PrefixDirectory(job.Backend, job.EnvironmentDirectory),
        };
        foreach (var (key, value) in job.EnvironmentVariables)
        {
            env[key] = value;
        }

        foreach (var (key, value) in job.Secrets)
        {
            env[key] = value;
        }

        var shown = job.EnvironmentVariables.Select(kv => $"{kv.Key}={kv.Value}").Concat(job.Secrets.Keys.Select(k => k + "=***"));
        var spec = new ProcessSpec(argv)
        {
            WorkingDirectory = job.WorkingDirectory,
            Environment = env,
            Timeout = job.TimeoutSeconds is > 0 ? TimeSpan.FromSeconds(job.TimeoutSeconds.Value) : null,
            Display = CommandLine.Join(argv) + (env.Count > 0 && (job.EnvironmentVariables.Count + job.Secrets.Count) > 0 ? "  (env: " + string.Join(' ', shown) + ")" : ""),
            Quota = RunQuota.Of(job.MemoryLimitMb, job.CpuLimit),
        };
        var outcome = await processes.RunAsync(spec, cancellationToken);
        return new EnvironmentOutcome
        {
            Status = outcome.TimedOut ? JobStatus.TimedOut : outcome.Cancelled ? JobStatus.Cancelled : outcome.Succeeded ? JobStatus.Succeeded : JobStatus.Failed,
            ExitCode = outcome.ExitCode,
            Error = outcome.TimedOut ? $"timed out after {job.TimeoutSeconds} s"
                : outcome.Cancelled ? "stopped"
                : outcome.QuotaError is { } quotaError ? quotaError
                : outcome.ExitCode == 0 ? null
                : outcome.CommandNotFound ? $"command not found: {argv[0]}"
                : $"exit code {outcome.ExitCode}",
        };
    }

    private async Task HeartbeatLoopAsync(RunnerJob job, JobControl control, JobMetrics metrics, Task markRunning, string? seenControl, DateTimeOffset startedAt, CancellationToken stop)
    {
        var interval = TimeSpan.FromSeconds(_options.JobHeartbeatSeconds);
        var lastControlAt = seenControl;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, time, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await markRunning;
                var now = time.GetUtcNow();
                await jobs.HeartbeatAsync(job.JobId, now, control.Paused, stop);

                // The row is the durable copy of control requests: one missed on the control queue applies here.
                var row = await jobs.GetAsync(job.JobId, stop);
                if (row?.Control is { } requested && requested != lastControlAt)
                {
                    lastControlAt = requested;
                    ApplyFromRow(control, requested);
                }

                if (!job.ProgressEvents)
                {
                    continue;
                }

                await events.HeartbeatAsync(job.InstanceId, new JobHeartbeatEvent(job.JobId, state.RunnerId, now, (now - startedAt).TotalSeconds, metrics.CurrentMemoryMb, metrics.PeakMemoryMb, metrics.CpuSeconds, control.Paused), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A heartbeat that fails is skipped; the next one tries again. The job itself goes on.
                logger.ReportFailed(ex, RunnerEvents.Heartbeat, job.JobId);
            }
        }
    }

    private static void ApplyFromRow(JobControl control, string requested)
    {
        switch (requested)
        {
            case "stop":
                control.Stop();
                break;
            case "pause" when !control.Paused:
                control.Pause();
                break;
            case "resume" when control.Paused:
                control.Resume();
                break;
        }
    }

    private async Task ReportAsync(string eventName, RunnerJob job, Func<Task> report)
    {
        // Events are best effort per attempt; the jobs table keeps the truth (heartbeat, result) for the waiting side.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await report();
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (attempt >= 3)
                {
                    logger.ReportFailed(ex, eventName, job.JobId);
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), time);
            }
        }
    }
}
