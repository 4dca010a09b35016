using System.Text;
using System.Text.Json;
using EnvFabric.Activities.Environments;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Validation;
using EnvFabric.Functions.Http;
using EnvFabric.Orchestrations.Environments;
using Microsoft.AspNetCore.Http.HttpResults;
using EnvFabric.Functions.Extensions;

namespace EnvFabric.Functions;

/// <summary>
/// Seed 001's environment API under <c>/envs</c>: environments keyed by (workflow, node, version), which are
/// the environments named <c>{workflow_id}_{node_id}_{version_id}</c> of <c>/api/conda</c>. Errors use
/// seed 001's <c>{error_code, message}</c> with the status of its table.
/// </summary>
public static partial class FabricEnvironmentFunctions
{
    public static RouteGroupBuilder MapFabricEnvironmentFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/envs").WithTags("Environments (fabric)")
            .AddEndpointFilter(EnvironmentReadiness.Filter);
        group.MapPost("/", CreateEnvironment).DisableRequestTimeout();
        group.MapGet("/{workflowId}/{nodeId}/export", ExportEnvironment);
        group.MapPost("/{workflowId}/{nodeId}/sync", SyncEnvironment).DisableRequestTimeout();
        group.MapGet("/{workflowId}/{nodeId}/deps", ListDependencies);
        group.MapPost("/{workflowId}/{nodeId}/deps", AddDependencies).DisableRequestTimeout();
        group.MapDelete("/{workflowId}/{nodeId}/deps", RemoveDependencies).DisableRequestTimeout();
        group.MapPost("/{workflowId}/{nodeId}/run", RunCode).DisableRequestTimeout();
        group.MapDelete("/{workflowId}/{nodeId}", DeleteEnvironment).DisableRequestTimeout();
        return group;
    }

    /// <summary><c>POST /envs</c> with form data: workflow_id, node_id, version_id, python_version, packages, requirements_file.</summary>
    public static async Task<Results<Ok<FabricCreated>, Accepted<IReadOnlyDictionary<string, string>>, JsonHttpResult<FabricError>>> CreateEnvironment(
        int? wait, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (!s.Context.Request.HasFormContentType)
        {
            return ErrorBodies.Fabric(FabricCodes.InvalidRequest, "POST /envs takes form data (application/x-www-form-urlencoded or multipart/form-data)");
        }

        var form = await s.Context.Request.ReadFormAsync(s.Aborted);
        var ids = FabricEnvironmentId.Create(form["workflow_id"], form["node_id"], form["version_id"]);
        if (ids.Id is not { } id)
        {
            return ErrorBodies.Fabric(FabricCodes.InvalidRequest, ids.Error!);
        }

        var python = string.IsNullOrEmpty(form["python_version"]) ? s.Settings.Value.DefaultPython : form["python_version"].ToString();
        if (!EnvironmentHttp.IsPythonVersion(python))
        {
            return ErrorBodies.Fabric(FabricCodes.InvalidRequest, $"python_version '{python}' is not a Python version like 3.11");
        }

        var packages = FormPackages(form["packages"]);
        if (packages is null)
        {
            return ErrorBodies.Fabric(FabricCodes.InvalidPackages, "packages must be a JSON array of strings or repeated form fields");
        }

        string? requirements = null;
        if (form.Files.GetFile("requirements_file") is { } file)
        {
            if (file.Length > RequirementsFile.MaxBytes)
            {
                return ErrorBodies.Fabric(FabricCodes.InvalidPackages, $"requirements_file must be at most {RequirementsFile.MaxBytes} bytes");
            }

            using var reader = new StreamReader(file.OpenReadStream(), Encoding.UTF8);
            requirements = await reader.ReadToEndAsync(s.Aborted);
        }

        var specs = PackageSpec.ParseAll(packages, s.SpecOptions);
        var fromFile = requirements is null ? null : RequirementsFile.Parse(requirements, s.SpecOptions);
        if (!specs.IsValid || fromFile is { IsValid: false })
        {
            return ErrorBodies.Fabric(FabricCodes.InvalidPackages, string.Join("; ", specs.Errors.Concat(fromFile?.Errors ?? [])));
        }

        if (await s.BackendAsync(form["backend"]) is not { } backend)
        {
            return ErrorBodies.Fabric(FabricCodes.InvalidRequest, "backend must be uv, venv or conda");
        }

        // The requirements file's specs join the package list: the job gets one validated list.
        var canonical = specs.Requirements.Concat(fromFile?.Requirements ?? []).Select(r => r.ToString()).Distinct().ToArray();
        var name = id.EnvironmentName;
        var record = new EnvironmentRecord
        {
            Name = name,
            PythonVersion = python,
            Backend = backend,
            RequestedSpecs = canonical,
            Path = s.DirectoryOf(name),
            WorkflowId = id.WorkflowId,
            NodeId = id.NodeId,
            VersionId = id.VersionId,
        };
        var inputs = new { workflow_id = id.WorkflowId, node_id = id.NodeId, version_id = id.VersionId, python_version = python, packages = canonical };
        var input = s.NewBuild(EnvOperations.Create, record, inputs) with { Packages = canonical };
        var started = await s.Builds.StartAsync(input, record, s.Aborted);
        if (Refused(started, name) is { } refused)
        {
            return refused;
        }

        var result = await s.Builds.WaitAsync(started.InstanceId!, input, s.WaitBound(wait), s.Aborted);
        if (result is null)
        {
            return EnvironmentHttp.Accepted(s.Context, started.InstanceId!);
        }

        if (!result.Succeeded)
        {
            return Failure(result);
        }

        var saved = await s.Environments.GetAsync(name, s.Aborted) ?? record;
        return TypedResults.Ok(new FabricCreated(
            id.WorkflowId, id.NodeId, id.VersionId, saved.Path, saved.PythonVersion, "created", PyProject(id, saved), TableEnvironmentRepositoryName(saved)));
    }

    /// <summary>Form <c>packages</c>: repeated fields, or one field holding a JSON array.</summary>
    internal static List<string?>? FormPackages(Microsoft.Extensions.Primitives.StringValues values)
    {
        var specs = new List<string?>();
        foreach (var value in values)
        {
            if (value is null)
            {
                continue;
            }

            var trimmed = value.Trim();
            if (trimmed.StartsWith('['))
            {
                try
                {
                    var array = JsonSerializer.Deserialize<string?[]>(trimmed);
                    if (array is null)
                    {
                        return null;
                    }

                    specs.AddRange(array);
                }
                catch (JsonException)
                {
                    return null;
                }
            }
            else if (trimmed.Length > 0 || values.Count > 1)
            {
                specs.Add(value);
            }
        }

        return specs;
    }

    /// <summary>
    /// The environment's pyproject.toml: the uv project's own file when the backend wrote one, else the
    /// project seed 001 describes (name <c>{workflow}-{node}</c>, requires-python, declared dependencies).
    /// </summary>
    internal static string PyProject(FabricEnvironmentId id, EnvironmentRecord record)
    {
        var onShare = Path.Combine(record.Path, "pyproject.toml");
        if (File.Exists(onShare))
        {
            return File.ReadAllText(onShare);
        }

        var text = new StringBuilder();
        text.Append("[project]\n");
        text.Append("name = \"").Append(id.ProjectName).Append("\"\n");
        text.Append("version = \"0.1.0\"\n");
        text.Append("requires-python = \">=").Append(RunnerCapabilitiesView.MajorMinor(record.PythonVersion) ?? record.PythonVersion).Append("\"\n");
        text.Append("dependencies = [");
        foreach (var spec in record.RequestedSpecs)
        {
            // Specs are validated ASCII without control characters; only quotes and backslashes need escaping.
            text.Append("\n    \"").Append(spec.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append("\",");
        }

        text.Append(record.RequestedSpecs.Count > 0 ? "\n]\n" : "]\n");
        return text.ToString();
    }

    internal static JsonHttpResult<FabricError>? Refused(StartOutcome started, string name) => started.Status switch
    {
        StartStatus.Locked => ErrorBodies.Fabric(FabricCodes.EnvLocked, $"Environment '{name}' is in use by another operation ({started.Holder?.Operation})"),
        StartStatus.AlreadyExists => ErrorBodies.Fabric(FabricCodes.EnvAlreadyExists, $"Environment '{name}' already exists"),
        _ => null,
    };

    internal static JsonHttpResult<FabricError> Failure(EnvBuildResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var log = result.OperationId is null ? "" : $" (install log: /api/conda/environment/{result.Environment}/logs?operation_id={result.OperationId})";
        return ErrorBodies.Fabric(result.ErrorCode ?? FabricCodes.UvExecutionError, (result.Error ?? "operation failed") + log);
    }

    private static string TableEnvironmentRepositoryName(EnvironmentRecord record) => TableEnvironmentRepository.BackendName(record.Backend);
}

public sealed record FabricCreated(string WorkflowId, string NodeId, string VersionId, string EnvPath, string PythonVersion, string Status, string PyprojectToml, string Backend);
