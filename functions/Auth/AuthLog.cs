namespace EnvFabric.Functions;

/// <summary>Auth's part of the host's log messages (EventIds 1100-1199).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Generated a master key at {Path}")]
    public static partial void MasterKeyGenerated(this ILogger logger, string path);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Key {Name} created with role {Role} in namespace {Namespace} by {By}")]
    public static partial void KeyCreated(this ILogger logger, string name, string role, string @namespace, string by);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Key {Name} revoked by {By}")]
    public static partial void KeyRevoked(this ILogger logger, string name, string by);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Session opened for key {Name}")]
    public static partial void SessionOpened(this ILogger logger, string name);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Information, Message = "Session of key {Name} rejected: the key was revoked or replaced")]
    public static partial void SessionRejected(this ILogger logger, string name);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "Request rejected by the limiter for {Method} {Path} ({Partition})")]
    public static partial void RequestRejectedByLimiter(this ILogger logger, string method, string path, string partition);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Information, Message = "Master key from {Source}")]
    public static partial void MasterKeySource(this ILogger logger, string source);
}
