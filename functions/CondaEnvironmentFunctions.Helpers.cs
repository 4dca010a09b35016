using EnvFabric.Activities.Environments;
using EnvFabric.Core.Environments;
using EnvFabric.Functions.Http;
using EnvFabric.Orchestrations.Environments;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EnvFabric.Functions;

public static partial class CondaEnvironmentFunctions
{
    private static async Task<(EnvironmentRecord? Record, JsonHttpResult<CondaError>? Error)> FindAsync(string name, EnvironmentServices s)
    {
        if (Core.Validation.EnvironmentName.Validate(name) is { } error)
        {
            return (null, ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid environment name", error));
        }

        var record = await s.Environments.GetAsync(name, s.Aborted);
        return record is null ? (null, NotFound(name)) : (record, null);
    }

    // Starts the build and waits; either the result, or the early answer (refused, or 202 still running).
    private static async Task<(EnvBuildResult? Result, Accepted<IReadOnlyDictionary<string, string>>? Accepted, JsonHttpResult<CondaError>? Refused)> RunAsync(
        EnvBuildInput input, int? wait, EnvironmentServices s)
    {
        var started = await s.Builds.StartAsync(input, cancellationToken: s.Aborted);
        if (Refused(started, started.Status == StartStatus.AlreadyExists ? input.NewName ?? input.Environment : input.Environment) is { } refused)
        {
            return (null, null, refused);
        }

        var result = await s.Builds.WaitAsync(started.InstanceId!, input, s.WaitBound(wait), s.Aborted);
        return result is null ? (null, EnvironmentHttp.Accepted(s.Context, started.InstanceId!), null) : (result, null, null);
    }

    private static JsonHttpResult<CondaError>? Refused(StartOutcome started, string name) => started.Status switch
    {
        StartStatus.Locked => ErrorBodies.Conda(
            StatusCodes.Status423Locked,
            $"Environment '{name}' is locked by another operation",
            $"A {started.Holder?.Operation} operation ({started.Holder?.Owner}) is in progress; retry when it has finished"),
        StartStatus.AlreadyExists => ErrorBodies.Conda(StatusCodes.Status409Conflict, $"Environment '{name}' already exists", "Choose another name"),
        _ => null,
    };

    internal static JsonHttpResult<CondaError> Failure(EnvBuildResult result, string message)
    {
        var status = result.ErrorCode switch
        {
            EnvErrorCodes.EnvNotFound => StatusCodes.Status404NotFound,
            EnvErrorCodes.EnvAlreadyExists => StatusCodes.Status409Conflict,
            EnvErrorCodes.EnvLocked => StatusCodes.Status423Locked,
            EnvErrorCodes.PackageResolutionFailed => StatusCodes.Status422UnprocessableEntity,
            _ => StatusCodes.Status500InternalServerError,
        };
        var log = result.OperationId is null ? "" : $" (install log: /api/conda/environment/{result.Environment}/logs?operation_id={result.OperationId})";
        return ErrorBodies.Conda(status, message, (result.Error ?? result.ErrorCode ?? "failed") + log);
    }
}
