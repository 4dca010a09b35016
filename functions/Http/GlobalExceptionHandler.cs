using Microsoft.AspNetCore.Diagnostics;

namespace EnvFabric.Functions.Http;

/// <summary>Unexpected exceptions become a 500 in the request's dialect, logged, with no stack trace in the body.</summary>
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
        await ErrorBodies.ForPath(httpContext.Request.Path, StatusCodes.Status500InternalServerError, "Internal server error", "An unexpected error occurred; it has been logged with trace id " + httpContext.TraceIdentifier)
            .ExecuteAsync(httpContext);
        return true;
    }
}
