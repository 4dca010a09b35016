namespace EnvFabric.Runner;

/// <summary>The runner's log messages (EventIds 4000-4099).</summary>
internal static partial class Log
{
    [LoggerMessage(4000, LogLevel.Information, "Runner {RunnerId} started in pool {Pool}: backends {Backends}, up to {MaxConcurrent} jobs at once")]
    public static partial void RunnerStarted(this ILogger logger, string runnerId, string pool, string backends, int maxConcurrent);

    [LoggerMessage(4001, LogLevel.Information, "Probe {File} {Args} failed: {Message}")]
    public static partial void ProbeFailed(this ILogger logger, string file, string args, string message);

    [LoggerMessage(4002, LogLevel.Warning, "{Warning}")]
    public static partial void ConfigurationWarning(this ILogger logger, string warning);

    [LoggerMessage(4040, LogLevel.Information, "{Mechanism}")]
    public static partial void QuotaMechanism(this ILogger logger, string mechanism);

    [LoggerMessage(4010, LogLevel.Information, "Job {JobId} ({Kind}) started for instance {InstanceId}")]
    public static partial void JobStarted(this ILogger logger, string jobId, string kind, string instanceId);

    [LoggerMessage(4011, LogLevel.Information, "Job {JobId} finished: {Status}, exit code {ExitCode}, {Duration:0.###} s")]
    public static partial void JobFinished(this ILogger logger, string jobId, string status, int? exitCode, double duration);

    [LoggerMessage(4012, LogLevel.Information, "Job {JobId} already finished: not run again, its result is reported again")]
    public static partial void JobAlreadyFinished(this ILogger logger, string jobId);

    [LoggerMessage(4013, LogLevel.Warning, "Job message rejected: {Error}")]
    public static partial void JobRejected(this ILogger logger, string error);

    [LoggerMessage(4014, LogLevel.Error, "Job {JobId} failed in the runner")]
    public static partial void JobCrashed(this ILogger logger, Exception exception, string jobId);

    [LoggerMessage(4015, LogLevel.Information, "Job {JobId} is held by live runner {RunnerId}: its message is hidden again")]
    public static partial void JobHeldElsewhere(this ILogger logger, string jobId, string runnerId);

    [LoggerMessage(4016, LogLevel.Information, "Job {JobId}: control {Action}")]
    public static partial void JobControl(this ILogger logger, string jobId, string action);

    [LoggerMessage(4020, LogLevel.Warning, "Renewing the message of job {JobId} failed")]
    public static partial void RenewFailed(this ILogger logger, Exception exception, string jobId);

    [LoggerMessage(4021, LogLevel.Warning, "Reporting {Event} of job {JobId} failed")]
    public static partial void ReportFailed(this ILogger logger, Exception exception, string @event, string jobId);

    [LoggerMessage(4022, LogLevel.Warning, "Queue polling failed")]
    public static partial void PollFailed(this ILogger logger, Exception exception);

    [LoggerMessage(4023, LogLevel.Warning, "Runner heartbeat failed")]
    public static partial void HeartbeatFailed(this ILogger logger, Exception exception);

    [LoggerMessage(4024, LogLevel.Warning, "Appending to log blob {Blob} failed")]
    public static partial void LogAppendFailed(this ILogger logger, Exception exception, string blob);

    [LoggerMessage(4025, LogLevel.Warning, "Job {JobId} needs the {Backend} backend, which runner {RunnerId} lacks: handed back for another runner of pool {Pool}")]
    public static partial void JobBackendMissing(this ILogger logger, string jobId, string backend, string runnerId, string pool);
}
