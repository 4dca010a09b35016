namespace EnvFabric.Functions;

/// <summary>Environment log messages. EventIds 1500-1599.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "Environments ready: tables and containers verified; {Imported} environment(s) imported from env_info")]
    public static partial void EnvironmentsReady(this ILogger logger, int imported);

    [LoggerMessage(EventId = 1506, Level = LogLevel.Critical, Message = "Stopping the host: {Reason}")]
    public static partial void EnvironmentStorageUnreachable(this ILogger logger, Exception exception, string reason);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Idle cleanup started for {Environment} (unused since {LastUsed:u}); operation {OperationId}")]
    public static partial void CleanupStarted(this ILogger logger, string environment, DateTimeOffset lastUsed, string operationId);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Information, Message = "Idle cleanup skipped {Environment}: {Reason}")]
    public static partial void CleanupSkipped(this ILogger logger, string environment, string reason);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Warning, Message = "Idle cleanup run failed")]
    public static partial void CleanupFailed(this ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Debug, Message = "Idle cleanup: another instance holds the singleton lease")]
    public static partial void CleanupLeaseHeld(this ILogger logger);

    [LoggerMessage(EventId = 1505, Level = LogLevel.Information, Message = "Idle cleanup is off (CLEANUP_IDLE_HOURS=0)")]
    public static partial void CleanupOff(this ILogger logger);
}
