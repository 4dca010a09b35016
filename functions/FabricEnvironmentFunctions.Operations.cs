using EnvFabric.Activities.Environments;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Validation;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

public static partial class FabricEnvironmentFunctions
{
    public static async Task<Results<Ok<FabricExport>, JsonHttpResult<FabricError>>> ExportEnvironment(
        string workflowId, string nodeId, [FromQuery(Name = "version_id")] string? versionId, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (id, record, error) = await FindAsync(workflowId, nodeId, versionId, s);
        if (record is null)
        {
            return error!;
        }

        // The lock "named for what it is": uv_lock for uv, pip_freeze for venv, conda_explicit for conda.
        var kind = record.LockKind ?? "";
        return TypedResults.Ok(new FabricExport(
            id!.WorkflowId,
            id.NodeId,
            id.VersionId,
            PyProject(id, record),
            kind == "uv.lock" ? record.LockText : null,
            kind == "pip-freeze" ? record.LockText : null,
            kind == "conda-explicit" ? record.LockText : null,
            record.LockKind,
            record.LockFileName,
            TableEnvironmentRepository.BackendName(record.Backend)));
    }

    public static async Task<Results<Ok<FabricSynced>, Accepted<IReadOnlyDictionary<string, string>>, JsonHttpResult<FabricError>>> SyncEnvironment(
        string workflowId, string nodeId, [FromQuery(Name = "version_id")] string? versionId, int? wait, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (id, record, error) = await FindAsync(workflowId, nodeId, versionId, s);
        if (record is null)
        {
            return error!;
        }

        var input = s.NewBuild(EnvOperations.Sync, record, new { workflow_id = id!.WorkflowId, node_id = id.NodeId, version_id = id.VersionId });
        var (result, accepted, refused) = await RunAsync(input, wait, s);
        if (refused is not null)
        {
            return refused;
        }

        if (accepted is not null)
        {
            return accepted;
        }

        return result!.Succeeded
            ? TypedResults.Ok(new FabricSynced(id.WorkflowId, id.NodeId, id.VersionId, "synced", result.Snapshot?.PackageCount ?? 0))
            : Failure(result);
    }

    public static async Task<Results<Ok<FabricDependencies>, JsonHttpResult<FabricError>>> ListDependencies(
        string workflowId, string nodeId, [FromQuery(Name = "version_id")] string? versionId, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (id, record, error) = await FindAsync(workflowId, nodeId, versionId, s);
        if (record is null)
        {
            return error!;
        }

        return TypedResults.Ok(new FabricDependencies(id!.WorkflowId, id.NodeId, id.VersionId, record.RequestedSpecs, EnvironmentHttp.LockedVersions(record)));
    }

    public static async Task<Results<Ok<FabricDependencyChange>, Accepted<IReadOnlyDictionary<string, string>>, JsonHttpResult<FabricError>>> AddDependencies(
        string workflowId, string nodeId, [FromQuery(Name = "version_id")] string? versionId, [FromBody] FabricPackagesRequest body, int? wait, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(s);
        var specs = PackageSpec.ParseAll(body.Packages, s.SpecOptions, allowEmpty: false);
        if (!specs.IsValid)
        {
            return ErrorBodies.Fabric(FabricCodes.InvalidPackages, specs.ErrorMessage);
        }

        return await ChangeDependenciesAsync(EnvOperations.Add, workflowId, nodeId, versionId, specs.Requirements.Select(r => r.ToString()).ToArray(), wait, s);
    }

    public static async Task<Results<Ok<FabricDependencyChange>, Accepted<IReadOnlyDictionary<string, string>>, JsonHttpResult<FabricError>>> RemoveDependencies(
        string workflowId, string nodeId, [FromQuery(Name = "version_id")] string? versionId, [FromBody] FabricPackagesRequest body, int? wait, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(s);
        var names = PackageSpec.ParseNames(body.Packages);
        if (!names.IsValid)
        {
            return ErrorBodies.Fabric(FabricCodes.InvalidPackages, names.ErrorMessage);
        }

        return await ChangeDependenciesAsync(EnvOperations.Remove, workflowId, nodeId, versionId, names.Requirements.Select(r => r.Name).ToArray(), wait, s);
    }

    public static async Task<Results<Ok<FabricRunResult>, Accepted<IReadOnlyDictionary<string, string>>, JsonHttpResult<FabricError>>> RunCode(
        string workflowId, string nodeId, [FromQuery(Name = "version_id")] string? versionId, [FromBody] FabricRunRequest body, int? wait, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(s);
        if (string.IsNullOrWhiteSpace(body.Code) || body.Code.Length > 100_000 || body.Code.Contains('\0', StringComparison.Ordinal))
        {
            return ErrorBodies.Fabric(FabricCodes.InvalidRequest, "code is required: Python source of at most 100000 characters");
        }

        var timeout = body.Timeout ?? s.Settings.Value.ExecutionTimeout;
        if (timeout is < 1 or > 3600)
        {
            return ErrorBodies.Fabric(FabricCodes.InvalidRequest, "timeout must be between 1 and 3600 seconds");
        }

        var (id, record, error) = await FindAsync(workflowId, nodeId, versionId, s);
        if (record is null)
        {
            return error!;
        }

        var input = s.NewBuild(EnvOperations.Run, record, new { workflow_id = id!.WorkflowId, node_id = id.NodeId, version_id = id.VersionId, timeout, code_length = body.Code.Length })
            with { Code = body.Code, JobTimeoutSeconds = timeout };
        var (result, accepted, refused) = await RunAsync(input, wait ?? Math.Min(229, Math.Max(s.Options.Value.WaitSeconds, timeout + 30)), s);
        if (refused is not null)
        {
            return refused;
        }

        if (accepted is not null)
        {
            return accepted;
        }

        return result!.Succeeded
            ? TypedResults.Ok(new FabricRunResult(id.WorkflowId, id.NodeId, id.VersionId, result.Stdout ?? "", result.Stderr ?? "", result.ExitCode ?? -1, Math.Round(result.DurationSeconds, 3)))
            : Failure(result);
    }

    public static async Task<Results<Ok<FabricDeleted>, Accepted<IReadOnlyDictionary<string, string>>, JsonHttpResult<FabricError>>> DeleteEnvironment(
        string workflowId, string nodeId, [FromQuery(Name = "version_id")] string? versionId, int? wait, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (id, record, error) = await FindAsync(workflowId, nodeId, versionId, s);
        if (record is null)
        {
            return error!;
        }

        var references = await s.Tasks.CountAsync(record.Name, s.Aborted);
        if (references > 0)
        {
            return ErrorBodies.Fabric(FabricCodes.EnvLocked, $"Environment '{record.Name}' is used by {references} task(s); change or delete them first");
        }

        var input = s.NewBuild(EnvOperations.Delete, record, new { workflow_id = id!.WorkflowId, node_id = id.NodeId, version_id = id.VersionId });
        var (result, accepted, refused) = await RunAsync(input, wait, s);
        if (refused is not null)
        {
            return refused;
        }

        if (accepted is not null)
        {
            return accepted;
        }

        return result!.Succeeded ? TypedResults.Ok(new FabricDeleted(id.WorkflowId, id.NodeId, id.VersionId, "deleted")) : Failure(result);
    }

    private static async Task<Results<Ok<FabricDependencyChange>, Accepted<IReadOnlyDictionary<string, string>>, JsonHttpResult<FabricError>>> ChangeDependenciesAsync(
        string operation, string workflowId, string nodeId, string? versionId, string[] packages, int? wait, EnvironmentServices s)
    {
        var (id, record, error) = await FindAsync(workflowId, nodeId, versionId, s);
        if (record is null)
        {
            return error!;
        }

        var input = s.NewBuild(operation, record, new { workflow_id = id!.WorkflowId, node_id = id.NodeId, version_id = id.VersionId, packages }) with { Packages = packages };
        var (result, accepted, refused) = await RunAsync(input, wait, s);
        if (refused is not null)
        {
            return refused;
        }

        if (accepted is not null)
        {
            return accepted;
        }

        if (!result!.Succeeded)
        {
            return Failure(result);
        }

        if (result.FailedPackages.Count > 0)
        {
            // Seed 001 has no partial answer: a package that did not resolve is a resolution failure.
            return Failure(result with { ErrorCode = EnvErrorCodes.PackageResolutionFailed });
        }

        var after = await s.Environments.GetAsync(record.Name, s.Aborted) ?? record;
        return TypedResults.Ok(new FabricDependencyChange(
            id.WorkflowId,
            id.NodeId,
            id.VersionId,
            operation == EnvOperations.Add ? "added" : "removed",
            packages,
            after.RequestedSpecs,
            EnvironmentHttp.LockedVersions(after),
            result.FailedPackages.Select(f => f.Package).ToArray()));
    }

    private static async Task<(FabricEnvironmentId? Id, EnvironmentRecord? Record, JsonHttpResult<FabricError>? Error)> FindAsync(
        string workflowId, string nodeId, string? versionId, EnvironmentServices s)
    {
        var ids = FabricEnvironmentId.Create(workflowId, nodeId, versionId);
        if (ids.Id is not { } id)
        {
            return (null, null, ErrorBodies.Fabric(FabricCodes.InvalidRequest, ids.Error!));
        }

        var record = await s.Environments.GetAsync(id.EnvironmentName, s.Aborted);
        return record is null
            ? (id, null, ErrorBodies.Fabric(FabricCodes.EnvNotFound, $"Environment '{id.EnvironmentName}' not found"))
            : (id, record, null);
    }

    private static async Task<(EnvBuildResult? Result, Accepted<IReadOnlyDictionary<string, string>>? Accepted, JsonHttpResult<FabricError>? Refused)> RunAsync(
        EnvBuildInput input, int? wait, EnvironmentServices s)
    {
        var started = await s.Builds.StartAsync(input, cancellationToken: s.Aborted);
        if (Refused(started, input.Environment) is { } refused)
        {
            return (null, null, refused);
        }

        var result = await s.Builds.WaitAsync(started.InstanceId!, input, s.WaitBound(wait), s.Aborted);
        return result is null ? (null, EnvironmentHttp.Accepted(s.Context, started.InstanceId!), null) : (result, null, null);
    }
}
