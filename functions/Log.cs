namespace EnvFabric.Functions;

/// <summary>The host's log messages. EventIds: 1000-1099 host, 1100-1199 auth, 1200-1299 health.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Error, Message = "Unhandled exception for {Method} {Path}")]
    public static partial void UnhandledException(this ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Host listening; data root {DataRoot}; storage {Storage}")]
    public static partial void HostStarted(this ILogger logger, string dataRoot, string storage);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Web console served from {Root}")]
    public static partial void ConsoleServed(this ILogger logger, string root);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Web console not built ({Root}/index.html is missing): run ./run, or npm ci and npm run build in console/, then rebuild the host")]
    public static partial void ConsoleNotBuilt(this ILogger logger, string root);

    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "Health check {Component} failed: {Reason}")]
    public static partial void HealthCheckFailed(this ILogger logger, string component, string reason);
}
