using Microsoft.AspNetCore.Diagnostics;

namespace EnvFabric.Functions.Http;

/// <summary>
/// Unexpected exceptions become a 500 in the request's dialect, logged, with no stack trace in the body. On
/// <c>/v2</c> a failure of the storage account (a table, queue or blob request that failed, or could not be sent)
/// is seed 002's 2002 (database error) with 503, so a client can tell "try again" from a defect (2001).
/// </summary>
public sealed class GlobalExceptionHandler(ILogger<GlobalExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        if (exception is BadHttpRequestException bad)
        {
            await ErrorBodies.ForPath(httpContext.Request.Path, bad.StatusCode, "Bad request", bad.Message).ExecuteAsync(httpContext);
            return true;
        }

        logger.UnhandledException(exception, httpContext.Request.Method, httpContext.Request.Path);
        if (ErrorBodies.DialectOf(httpContext.Request.Path) == Dialect.V2 && IsStorageFailure(exception))
        {
            await ErrorBodies.V2(StatusCodes.Status503ServiceUnavailable, V2Codes.DatabaseError, "Storage unavailable: the request could not be completed; it has been logged with trace id " + httpContext.TraceIdentifier)
                .ExecuteAsync(httpContext);
            return true;
        }

        await ErrorBodies.ForPath(httpContext.Request.Path, StatusCodes.Status500InternalServerError, "Internal server error", "An unexpected error occurred; it has been logged with trace id " + httpContext.TraceIdentifier)
            .ExecuteAsync(httpContext);
        return true;
    }

    /// <summary>Whether <paramref name="exception"/> (or what it wraps) is the storage account failing.</summary>
    public static bool IsStorageFailure(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is Azure.RequestFailedException or Azure.Data.Tables.TableTransactionFailedException)
            {
                return true;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsStorageFailure))
            {
                return true;
            }
        }

        return false;
    }
}
