using EnvFabric.Activities.Environments;
using EnvFabric.Durable;

namespace EnvFabric.Orchestrations.Environments;

// How a job's outcome becomes the build's result, and how completion events are read.
public sealed partial class EnvBuildOrchestrator
{
    private static EnvBuildResult ToResult(EnvBuildInput input, string operationId, JobProbe probe)
    {
        var succeeded = probe.Status == "succeeded";
        var baseResult = new EnvBuildResult
        {
            Succeeded = succeeded,
            Operation = input.Operation,
            Environment = input.Environment,
            NewName = input.NewName,
            OperationId = operationId,
            FailedPackages = probe.FailedPackages,
            ExitCode = probe.ExitCode,
            Stdout = probe.StdoutTail,
            Stderr = probe.StderrTail,
            DurationSeconds = probe.DurationSeconds,
        };
        if (input.Operation == EnvOperations.Run)
        {
            // A run that exits non-zero still succeeded as an operation: the caller gets the exit code.
            return probe.Status switch
            {
                "failed" when probe.ExitCode is not null => baseResult with { Succeeded = true },
                "timed_out" => baseResult with { ErrorCode = EnvErrorCodes.ExecutionTimeout, Error = $"Code execution exceeded {input.JobTimeoutSeconds} s" },
                "succeeded" => baseResult,
                _ => baseResult with { ErrorCode = EnvErrorCodes.UvExecutionError, Error = probe.Error ?? "code execution failed" },
            };
        }

        if (succeeded)
        {
            if (probe.FailedPackages.Count == 0)
            {
                return baseResult;
            }

            var notInstalled = "not installed: " + string.Join("; ", probe.FailedPackages.Select(f => $"{f.Package} ({f.Error})"));

            // A new or rebuilt environment without some of its packages is not the one asked for; an install
            // into an existing one reports the failures beside what did install (seed 000's failed_packages).
            return input.Operation is EnvOperations.Create or EnvOperations.Reset
                ? baseResult with { Succeeded = false, ErrorCode = EnvErrorCodes.PackageResolutionFailed, Error = notInstalled }
                : baseResult with { Error = notInstalled };
        }

        var code = probe.FailedPackages.Count > 0 && probe.Status == "failed" ? EnvErrorCodes.PackageResolutionFailed : EnvErrorCodes.UvExecutionError;
        return baseResult with { ErrorCode = code, Error = probe.Error ?? $"the {input.Operation} job ended {probe.Status}" };
    }

    private static EnvBuildResult Failure(EnvBuildInput input, string operationId, string code, string message) => new()
    {
        Succeeded = false,
        ErrorCode = code,
        Error = message,
        Operation = input.Operation,
        Environment = input.Environment,
        NewName = input.NewName,
        OperationId = operationId,
    };
}

/// <summary>Registers the environment orchestrations and their activities.</summary>
public static class EnvironmentOrchestrationRegistration
{
    public static IDurableTaskBuilder AddEnvironmentOrchestrations(this IDurableTaskBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddOrchestrator<EnvBuildOrchestrator>(EnvBuildOrchestrator.Name).AddEnvironmentActivities();
    }
}
