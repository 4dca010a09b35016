using System.Text.Json;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Extensions;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>
/// <c>POST /api/python-versions</c> (admin): installs a Python interpreter on the share through a runner that has uv
/// or conda, as a <see cref="PythonInstallJob"/> followed through the runner's jobs table; <c>GET
/// /api/python-versions/installs/{id}</c> reads where it stands. The runner discovers its interpreters again
/// afterwards, so the version appears in <c>GET /api/conda/python-versions</c>.
/// </summary>
public static class PythonVersionFunctions
{
    /// <summary>The longest <c>?wait=</c>: under Azure's 230 s request limit, as for environments.</summary>
    public const int MaxWaitSeconds = 200;

    public static RouteGroupBuilder MapPythonVersionFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/api/python-versions").WithTags("Python versions").RequireAuthorization(AuthPolicies.Admin)
            .AddEndpointFilter(EnvironmentReadiness.Filter);
        group.MapPost("/", InstallPython)
            .Produces<PythonInstallResponse>(StatusCodes.Status202Accepted)
            .Produces<CondaError>(StatusCodes.Status400BadRequest)
            .Produces<CondaError>(StatusCodes.Status422UnprocessableEntity)
            .DisableRequestTimeout()
            .WithName("InstallPython")
            .WithSummary("Installs a Python interpreter (3.X or 3.X.Y) on the share through a runner with uv or conda; 202 with a status route, or the outcome within ?wait= seconds; 422 when no live runner has either tool.");
        group.MapGet("/installs/{id}", GetInstall)
            .Produces<CondaError>(StatusCodes.Status404NotFound)
            .WithName("GetPythonInstall")
            .WithSummary("Where an interpreter install stands: queued, running, succeeded, failed, timed_out or rejected, with its error.");
        return group;
    }

    public static async Task<IResult> InstallPython(
        PythonInstallRequest? request,
        int? wait,
        HttpContext context,
        RunnerCapabilitiesView runners,
        IRunnerJobQueue queue,
        RunnerJobTable jobs,
        IAuditLog audit,
        [FromServices] DataPaths paths,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(runners);
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(time);
        var version = request?.Version;
        if (!PythonInstallJob.IsValidVersion(version))
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid Python version", $"version must look like 3.12 or 3.12.4 (was '{version}')");
        }

        if (wait is < 0 or > MaxWaitSeconds)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid wait", $"wait must be between 0 and {MaxWaitSeconds} seconds");
        }

        var alive = await runners.AliveRunnersAsync(context.RequestAborted);
        var withUv = alive.Where(r => r.Capabilities.Tools.Any(t => t.Name == "uv")).ToList();
        var withConda = alive.Where(r => r.Capabilities.CondaTool is not null).ToList();
        if (withUv.Count == 0 && withConda.Count == 0)
        {
            var seen = alive.Count == 0 ? "no runner is alive" : "live runners without either: " + string.Join(", ", alive.Select(r => r.RunnerId));
            return ErrorBodies.Conda(
                StatusCodes.Status422UnprocessableEntity,
                "No runner can install Python",
                $"Installing Python {version} needs a live runner with uv or conda (micromamba, mamba or conda) on its PATH; {seen}");
        }

        var tool = withUv.Count > 0 ? "uv" : "conda";
        var job = new PythonInstallJob
        {
            JobId = "python-" + Guid.NewGuid().ToString("N")[..12],
            InstanceId = "",
            LogBlobName = "python/" + Guid.NewGuid().ToString("N") + ".log",
            EnvironmentDirectory = paths.Python,
            PythonVersion = version!,
            Tool = tool,
            ProgressEvents = false,
        };
        await queue.EnqueueAsync(job, context.RequestAborted);
        await AuditAsync(audit, context, time, job, "accepted");

        var statusUrl = "/api/python-versions/installs/" + job.JobId;
        context.Response.Headers.Location = statusUrl;
        var deadline = time.GetUtcNow().AddSeconds(wait ?? 0);
        while (true)
        {
            var row = await jobs.GetAsync(job.JobId, context.RequestAborted);
            if (row?.Result is { } result)
            {
                var view = PythonInstallView.From(job.JobId, version!, tool, row);
                return result.Status == JobStatus.Succeeded
                    ? TypedResults.Ok(new PythonInstallResponse(true, $"Python {version} installed", view, statusUrl))
                    : ErrorBodies.Conda(StatusCodes.Status500InternalServerError, $"Installing Python {version} failed", result.Error);
            }

            if (time.GetUtcNow() >= deadline)
            {
                return TypedResults.Json(
                    new PythonInstallResponse(true, $"Installing Python {version} with {tool}", PythonInstallView.From(job.JobId, version!, tool, row), statusUrl),
                    statusCode: StatusCodes.Status202Accepted);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), time, context.RequestAborted);
        }
    }

    public static async Task<Results<Ok<PythonInstallResponse>, JsonHttpResult<CondaError>>> GetInstall(string id, RunnerJobTable jobs, IAuditLog audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(id);
        if (!id.StartsWith("python-", StringComparison.Ordinal) || !RunnerJson.IsValidJobId(id))
        {
            return NotFound();
        }

        // The audit row written when the install was accepted tells a queued install from an unknown id.
        var rows = await audit.QueryAsync(new AuditQuery { Operation = "python.install", OperationId = id, Limit = 1 }, cancellationToken);
        if (rows.Count == 0)
        {
            return NotFound();
        }

        var accepted = rows[0];

        using var inputs = JsonDocument.Parse(accepted.Inputs);
        var version = inputs.RootElement.TryGetProperty("version", out var v) ? v.GetString() ?? "" : "";
        var tool = inputs.RootElement.TryGetProperty("tool", out var t) ? t.GetString() ?? "" : "";
        var row = await jobs.GetAsync(id, cancellationToken);
        var view = PythonInstallView.From(id, version, tool, row);
        return TypedResults.Ok(new PythonInstallResponse(true, $"Python {version}: {view.Status}", view, "/api/python-versions/installs/" + id));

        JsonHttpResult<CondaError> NotFound() => ErrorBodies.Conda(StatusCodes.Status404NotFound, "Install not found", $"No Python install with id '{id}'");
    }

    private static Task AuditAsync(IAuditLog audit, HttpContext context, TimeProvider time, PythonInstallJob job, string outcome) =>
        audit.WriteQuietlyAsync(context, time, "python.install", job.JobId, new { version = job.PythonVersion, tool = job.Tool, job_id = job.JobId }, outcome: outcome);
}

/// <summary>The body of <c>POST /api/python-versions</c>.</summary>
public sealed record PythonInstallRequest(string? Version);

/// <summary>An install's answer: seed 003's <c>success</c> and <c>message</c>, the install and its status route.</summary>
public sealed record PythonInstallResponse(bool Success, string Message, PythonInstallView Install, string StatusUrl);

/// <summary>Where an install stands.</summary>
public sealed record PythonInstallView(string Id, string Version, string Tool, string Status, string? RunnerId, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Error)
{
    internal static PythonInstallView From(string id, string version, string tool, RunnerJobRecord? row) => new(
        id,
        version,
        tool,
        row?.Result is { } r ? RunnerJson.Serialize(r.Status).Trim('"') : row?.State == RunnerJobStates.Running ? "running" : "queued",
        row?.RunnerId,
        row?.StartedAt,
        row?.Result?.FinishedAt,
        row?.Result?.Error);
}
