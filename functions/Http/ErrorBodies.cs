using System.Text.Json.Serialization;
using EnvFabric.Activities.Environments;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EnvFabric.Functions.Http;

/// <summary>
/// The error body of each API dialect, built in one place:
/// seeds 000/003 <c>{success:false,message,error}</c>; seed 001 <c>{error_code,message}</c> with the HTTP status
/// of its table; seed 002 <c>{code,message,success,data}</c>.
/// </summary>
public static class ErrorBodies
{
    /// <summary>Seed 000/003 ("Conda Task Manager"): <c>{success:false,message,error}</c>.</summary>
    public static JsonHttpResult<CondaError> Conda(int status, string message, string? error = null) =>
        TypedResults.Json(new CondaError(message, error), statusCode: status);

    /// <summary>Seed 001 ("Environment Fabric"): the status is fixed by the code.</summary>
    public static JsonHttpResult<FabricError> Fabric(string errorCode, string message) =>
        TypedResults.Json(new FabricError(errorCode, message), statusCode: FabricStatus(errorCode));

    /// <summary>Seed 002 (v2): <c>{code,message,success:false,data:null}</c>.</summary>
    public static JsonHttpResult<V2Error> V2(int status, string code, string message) =>
        TypedResults.Json(new V2Error(code, message), statusCode: status);

    /// <summary>Seed 001's table of codes and statuses.</summary>
    public static int FabricStatus(string errorCode) => errorCode switch
    {
        FabricCodes.InvalidPackages => StatusCodes.Status400BadRequest,
        FabricCodes.InvalidRequest => StatusCodes.Status400BadRequest,
        FabricCodes.EnvNotFound => StatusCodes.Status404NotFound,
        FabricCodes.EnvAlreadyExists => StatusCodes.Status409Conflict,
        FabricCodes.PackageResolutionFailed => StatusCodes.Status422UnprocessableEntity,
        FabricCodes.EnvLocked => StatusCodes.Status423Locked,
        FabricCodes.DbAuditError => StatusCodes.Status500InternalServerError,
        FabricCodes.UvExecutionError => StatusCodes.Status500InternalServerError,
        FabricCodes.ExecutionTimeout => StatusCodes.Status504GatewayTimeout,
        FabricCodes.Unauthorized => StatusCodes.Status401Unauthorized,
        FabricCodes.Forbidden => StatusCodes.Status403Forbidden,
        FabricCodes.RateLimited => StatusCodes.Status429TooManyRequests,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>Which dialect a path speaks, for errors raised outside an endpoint (auth, limits, crashes).</summary>
    public static Dialect DialectOf(PathString path)
    {
        if (path.StartsWithSegments("/envs", StringComparison.OrdinalIgnoreCase))
        {
            return Dialect.Fabric;
        }

        return path.StartsWithSegments("/v2", StringComparison.OrdinalIgnoreCase) ? Dialect.V2 : Dialect.Conda;
    }

    /// <summary>An error for <paramref name="path"/> in its own dialect; used by middleware.</summary>
    public static IResult ForPath(PathString path, int status, string message, string detail) => DialectOf(path) switch
    {
        Dialect.Fabric => TypedResults.Json(new FabricError(FabricCodeFor(status), message + ": " + detail), statusCode: status),
        Dialect.V2 => V2(status, V2CodeFor(status), message + ": " + detail),
        _ => Conda(status, message, detail),
    };

    private static string FabricCodeFor(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => FabricCodes.Unauthorized,
        StatusCodes.Status403Forbidden => FabricCodes.Forbidden,
        StatusCodes.Status429TooManyRequests => FabricCodes.RateLimited,
        >= 400 and < 500 => FabricCodes.InvalidRequest,
        _ => FabricCodes.InternalError,
    };

    private static string V2CodeFor(int status) => status switch
    {
        >= 400 and < 500 => V2Codes.InvalidArgument,
        _ => V2Codes.SystemError,
    };
}

public enum Dialect
{
    Conda,
    Fabric,
    V2,
}

public sealed record CondaError(string Message, string? Error)
{
    /// <summary>First, as the seeds write it.</summary>
    [JsonPropertyOrder(-1)]
    public bool Success => false;
}

public sealed record FabricError(string ErrorCode, string Message);

public sealed record V2Error(string Code, string Message)
{
    [JsonPropertyOrder(1)]
    public bool Success => false;

    [JsonPropertyOrder(2)]
    public object? Data => null;
}

/// <summary>
/// Seed 001's error codes (defined once, as build outcomes, in <see cref="EnvErrorCodes"/>), plus the few the
/// host adds for auth, limits and crashes.
/// </summary>
public static class FabricCodes
{
    public const string InvalidPackages = EnvErrorCodes.InvalidPackages;
    public const string EnvNotFound = EnvErrorCodes.EnvNotFound;
    public const string EnvAlreadyExists = EnvErrorCodes.EnvAlreadyExists;
    public const string PackageResolutionFailed = EnvErrorCodes.PackageResolutionFailed;
    public const string EnvLocked = EnvErrorCodes.EnvLocked;
    public const string DbAuditError = EnvErrorCodes.DbAuditError;
    public const string UvExecutionError = EnvErrorCodes.UvExecutionError;
    public const string ExecutionTimeout = EnvErrorCodes.ExecutionTimeout;
    public const string InvalidRequest = "INVALID_REQUEST";
    public const string Unauthorized = "UNAUTHORIZED";
    public const string Forbidden = "FORBIDDEN";
    public const string RateLimited = "RATE_LIMITED";
    public const string InternalError = "INTERNAL_ERROR";
}

/// <summary>Seed 002's error codes.</summary>
public static class V2Codes
{
    public const string Ok = "0";
    public const string InvalidArgument = "1001";
    public const string TaskNotFound = "1002";
    public const string InstanceNotFound = "1003";
    public const string QueueNotFound = "1004";
    public const string InsufficientResources = "1005";
    public const string SystemError = "2001";
    public const string DatabaseError = "2002";
}
