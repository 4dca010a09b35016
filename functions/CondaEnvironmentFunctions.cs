using EnvFabric.Core.Environments;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using EnvFabric.Functions.Extensions;

namespace EnvFabric.Functions;

/// <summary>
/// Seed 000's environment API under <c>/api/conda</c>: list (NDJSON with <c>?stream=true</c>), detail,
/// Python versions, create, delete, rename, install and remove packages, stats, reset and install logs.
/// Mutations run as <c>EnvBuild</c> orchestrations; the call waits for them up to a bound, then answers 202.
/// </summary>
public static partial class CondaEnvironmentFunctions
{
    public static RouteGroupBuilder MapCondaEnvironmentFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/api/conda").WithTags("Environments (conda)")
            .AddEndpointFilter(EnvironmentReadiness.Filter);
        group.MapGet("/environments", ListEnvironments);
        group.MapGet("/environment/{name}", GetEnvironment);
        group.MapGet("/python-versions", GetPythonVersions);
        group.MapGet("/stats", GetStats);
        group.MapGet("/environment/{name}/logs", GetLogs).DisableRequestTimeout();
        group.MapGet("/environment/{name}/export", ExportEnvironment);

        // Builds may legitimately outlast the host's request timeout; the wait bound (?wait=) limits them.
        group.MapPost("/environment", CreateEnvironment).DisableRequestTimeout();
        group.MapDelete("/environment/{name}", DeleteEnvironment).DisableRequestTimeout();
        group.MapPut("/environment/{name}/rename", RenameEnvironment).DisableRequestTimeout();
        group.MapPost("/environment/{name}/packages", InstallPackages).DisableRequestTimeout();
        group.MapDelete("/environment/{name}/packages", RemovePackages).DisableRequestTimeout();
        group.MapPost("/environment/{name}/reset", ResetEnvironment).DisableRequestTimeout();
        return group;
    }

    public static async Task<Results<Ok<List<CondaEnvironmentItem>>, PushStreamHttpResult>> ListEnvironments(bool? stream, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (stream == true)
        {
            // One JSON object per line, flushed as read; no line at all when there is no environment.
            return TypedResults.Stream(
                async body =>
                {
                    await foreach (var summary in s.Environments.ListSummariesAsync(s.Aborted))
                    {
                        await System.Text.Json.JsonSerializer.SerializeAsync(body, Item(summary), EnvironmentHttp.AuditJson, s.Aborted);
                        await body.WriteAsync("\n"u8.ToArray(), s.Aborted);
                        await body.FlushAsync(s.Aborted);
                    }
                },
                "application/x-ndjson");
        }

        var items = new List<CondaEnvironmentItem>();
        await foreach (var summary in s.Environments.ListSummariesAsync(s.Aborted))
        {
            items.Add(Item(summary));
        }

        return TypedResults.Ok(items);
    }

    public static async Task<Results<Ok<CondaEnvironmentDetail>, JsonHttpResult<CondaError>>> GetEnvironment(string name, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (Core.Validation.EnvironmentName.Validate(name) is { } error)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid environment name", error);
        }

        var record = await s.Environments.GetAsync(name, s.Aborted);
        if (record is null)
        {
            return NotFound(name);
        }

        var usage = await s.Tasks.GetUsageAsync(name, s.Aborted);
        return TypedResults.Ok(new CondaEnvironmentDetail(
            record.Name,
            record.PythonVersion,
            EnvironmentHttp.Date(record.CreatedAt),
            true,
            new CondaUsageStats(usage.TotalTasks, usage.SuccessRate, usage.AvgExecutionTime),
            record.Packages.Select(p => new CondaPackage(p.Name, p.Version)).ToArray(),
            TableEnvironmentRepository.StatusName(record.Status),
            TableEnvironmentRepository.BackendName(record.Backend),
            EnvironmentHttp.Date(record.UpdatedAt),
            record.LastError,
            record.LastOperationId));
    }

    /// <summary>
    /// The lock file recorded by the last successful build, named for what it is (<c>uv.lock</c>, <c>pip-freeze</c>,
    /// <c>conda-explicit</c>), with the requested specs; 404 when the environment has none yet.
    /// </summary>
    public static async Task<Results<Ok<CondaExport>, JsonHttpResult<CondaError>>> ExportEnvironment(string name, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (record, error) = await FindAsync(name, s);
        if (record is null)
        {
            return error!;
        }

        if (string.IsNullOrEmpty(record.LockText))
        {
            return ErrorBodies.Conda(StatusCodes.Status404NotFound, $"No lock file for '{name}'", "The environment has no recorded lock; it is written by a successful build");
        }

        return TypedResults.Ok(new CondaExport(
            true,
            record.Name,
            TableEnvironmentRepository.BackendName(record.Backend),
            record.LockKind,
            record.LockFileName,
            record.LockText,
            record.RequestedSpecs));
    }

    public static async Task<Ok<CondaPythonVersions>> GetPythonVersions([AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (versions, source) = await s.Runners.PythonVersionsAsync(s.Aborted);
        var runners = await s.Runners.RunnersByVersionAsync(s.Aborted);
        var details = versions.Select(v => new PythonVersionRunners(v, runners.TryGetValue(v, out var ids) ? ids : [])).ToList();
        return TypedResults.Ok(source is null
            ? new CondaPythonVersions(true, versions, "fallback", "No runner reported its Python versions; using the predefined version list", details)
            : new CondaPythonVersions(true, versions, source, null, details));
    }

    public static async Task<Ok<CondaStats>> GetStats([AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var summaries = new List<EnvironmentSummary>();
        await foreach (var summary in s.Environments.ListSummariesAsync(s.Aborted))
        {
            summaries.Add(summary);
        }

        var counts = await s.Tasks.CountAllAsync(s.Aborted);
        var latest = summaries.OrderByDescending(e => e.CreatedAt).FirstOrDefault();
        return TypedResults.Ok(new CondaStats(
            summaries.Count,
            summaries.Count(e => counts.GetValueOrDefault(e.Name) > 0),
            latest is null ? null : new CondaLatest(latest.Name, EnvironmentHttp.Date(latest.CreatedAt)),
            summaries.Select(e => new CondaUsage(e.Name, counts.GetValueOrDefault(e.Name))).OrderByDescending(u => u.TaskCount).ThenBy(u => u.Name, StringComparer.Ordinal).ToArray()));
    }

    private static CondaEnvironmentItem Item(EnvironmentSummary e) =>
        new(e.Name, e.PythonVersion, EnvironmentHttp.Date(e.CreatedAt), e.PackageCount, true, TableEnvironmentRepository.StatusName(e.Status));

    internal static JsonHttpResult<CondaError> NotFound(string name) =>
        ErrorBodies.Conda(StatusCodes.Status404NotFound, $"Environment '{name}' not found", $"No environment named '{name}'");
}

public sealed record CondaEnvironmentItem(string Name, string PythonVersion, string CreatedAt, int PackageCount, bool IsManagedByContainer, string Status);

public sealed record CondaUsageStats(int TotalTasks, int SuccessRate, int AvgExecutionTime);

public sealed record CondaPackage(string Name, string Version);

public sealed record CondaEnvironmentDetail(
    string Name,
    string PythonVersion,
    string CreatedAt,
    bool IsManagedByContainer,
    CondaUsageStats UsageStats,
    IReadOnlyList<CondaPackage> Packages,
    string Status,
    string Backend,
    string UpdatedAt,
    string? LastError,
    string? LastOperationId);

public sealed record CondaPythonVersions(bool Success, IReadOnlyList<string> Versions, string Source, [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Message, IReadOnlyList<PythonVersionRunners> Details);

/// <summary>One of <c>versions</c> and the live runners that have it (empty for a fallback version no runner has).</summary>
public sealed record PythonVersionRunners(string Version, IReadOnlyList<string> Runners);

/// <summary>The answer of <c>GET /api/conda/environment/{name}/export</c>.</summary>
public sealed record CondaExport(bool Success, string Name, string Backend, string? LockKind, string? LockFile, string Lock, IReadOnlyList<string> RequestedPackages);

public sealed record CondaLatest(string Name, string CreatedAt);

public sealed record CondaUsage(string Name, int TaskCount);

public sealed record CondaStats(int TotalEnvironments, int ActiveEnvironments, CondaLatest? LatestCreated, IReadOnlyList<CondaUsage> EnvironmentUsage);
