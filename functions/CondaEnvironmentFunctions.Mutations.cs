using EnvFabric.Activities.Environments;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Validation;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

public static partial class CondaEnvironmentFunctions
{
    public static async Task<Results<Created<CondaCreated>, Accepted<IReadOnlyDictionary<string, string>>, JsonHttpResult<CondaError>>> CreateEnvironment(
        [FromBody] CondaCreateRequest body, int? wait, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(s);
        if (Core.Validation.EnvironmentName.Validate(body.Name) is { } nameError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid environment name", nameError);
        }

        var python = string.IsNullOrEmpty(body.PythonVersion) ? s.Settings.Value.DefaultPython : body.PythonVersion;
        if (!EnvironmentHttp.IsPythonVersion(python))
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid python_version", $"'{python}' is not a Python version like 3.11");
        }

        var specs = PackageSpec.ParseAll(body.Packages, s.SpecOptions);
        if (!specs.IsValid)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid packages", specs.ErrorMessage);
        }

        if (await s.BackendAsync(body.Backend) is not { } backend)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid backend", $"backend must be uv, venv or conda, not '{body.Backend}'");
        }

        var canonical = specs.Requirements.Select(r => r.ToString()).ToArray();
        var record = new EnvironmentRecord { Name = body.Name!, PythonVersion = python!, Backend = backend, RequestedSpecs = canonical, Path = s.DirectoryOf(body.Name!) };
        var input = s.NewBuild(EnvOperations.Create, record, body) with { Packages = canonical };
        var started = await s.Builds.StartAsync(input, record, s.Aborted);
        if (Refused(started, body.Name!) is { } refused)
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
            return Failure(result, "Failed to create environment");
        }

        var env = result.Snapshot!;
        return TypedResults.Created(
            $"/api/conda/environment/{env.Name}",
            new CondaCreated(true, "Environment created successfully", new CondaCreatedEnv(env.Name, env.PythonVersion, EnvironmentHttp.Date(env.CreatedAt), env.PackageCount)));
    }

    public static async Task<Results<Ok<CondaMessage>, Accepted<IReadOnlyDictionary<string, string>>, JsonHttpResult<CondaError>>> DeleteEnvironment(
        string name, int? wait, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (record, error) = await FindAsync(name, s);
        if (record is null)
        {
            return error!;
        }

        var references = await s.Tasks.CountAsync(name, s.Aborted);
        if (references > 0)
        {
            return ErrorBodies.Conda(StatusCodes.Status409Conflict, $"Environment '{name}' is in use", $"{references} task(s) reference this environment; change or delete them first");
        }

        var input = s.NewBuild(EnvOperations.Delete, record, new { name });
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
            ? TypedResults.Ok(new CondaMessage(true, $"Environment '{name}' deleted successfully"))
            : Failure(result, $"Failed to delete environment '{name}'");
    }

    public static async Task<Results<Ok<CondaRenamed>, Accepted<IReadOnlyDictionary<string, string>>, JsonHttpResult<CondaError>>> RenameEnvironment(
        string name, [FromBody] CondaRenameRequest body, int? wait, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(s);
        if (Core.Validation.EnvironmentName.Validate(body.NewName) is { } newNameError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid new_name", newNameError);
        }

        var (record, error) = await FindAsync(name, s);
        if (record is null)
        {
            return error!;
        }

        if (body.NewName == name)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid new_name", "new_name is the current name");
        }

        var input = s.NewBuild(EnvOperations.Rename, record, body) with { NewName = body.NewName, NewDirectory = s.DirectoryOf(body.NewName!) };
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
            ? TypedResults.Ok(new CondaRenamed(true, "Environment renamed successfully", name, body.NewName!, result.UpdatedTasksCount))
            : Failure(result, $"Failed to rename environment '{name}'");
    }

    public static async Task<Results<Ok<CondaInstalled>, Accepted<IReadOnlyDictionary<string, string>>, JsonHttpResult<CondaError>>> InstallPackages(
        string name, [FromBody] CondaPackagesRequest body, int? wait, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(s);
        var specs = PackageSpec.ParseAll(body.Packages, s.SpecOptions, allowEmpty: false);
        if (!specs.IsValid)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid packages", specs.ErrorMessage);
        }

        var (record, error) = await FindAsync(name, s);
        if (record is null)
        {
            return error!;
        }

        var input = s.NewBuild(EnvOperations.Add, record, body) with { Packages = specs.Requirements.Select(r => r.ToString()).ToArray() };
        var (result, accepted, refused) = await RunAsync(input, wait, s);
        if (refused is not null)
        {
            return refused;
        }

        if (accepted is not null)
        {
            return accepted;
        }

        if (!result!.Succeeded && result.ErrorCode != EnvErrorCodes.PackageResolutionFailed)
        {
            return Failure(result, $"Failed to install packages in '{name}'");
        }

        var failed = result.FailedPackages.Select(f => f.Package).ToArray();
        return TypedResults.Ok(new CondaInstalled(
            failed.Length == 0,
            failed.Length == 0 ? "Packages installed successfully" : $"{failed.Length} package(s) could not be installed",
            result.InstalledPackages.Select(p => $"{p.Name}-{p.Version}").ToArray(),
            failed,
            result.FailedPackages.Select(f => new CondaPackageError(f.Package, f.Error)).ToArray()));
    }

    public static async Task<Results<Ok<CondaRemoved>, Accepted<IReadOnlyDictionary<string, string>>, JsonHttpResult<CondaError>>> RemovePackages(
        string name, [FromBody] CondaPackagesRequest body, int? wait, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(s);
        var names = PackageSpec.ParseNames(body.Packages);
        if (!names.IsValid)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid packages", names.ErrorMessage);
        }

        var (record, error) = await FindAsync(name, s);
        if (record is null)
        {
            return error!;
        }

        var input = s.NewBuild(EnvOperations.Remove, record, body) with { Packages = names.Requirements.Select(r => r.Name).ToArray() };
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
            return Failure(result, $"Failed to remove packages from '{name}'");
        }

        var failed = result.FailedPackages.Select(f => f.Package).ToArray();
        return TypedResults.Ok(new CondaRemoved(
            failed.Length == 0,
            failed.Length == 0 ? "Packages removed successfully" : $"{failed.Length} package(s) could not be removed",
            result.RemovedPackages,
            failed));
    }

    public static async Task<Results<Ok<CondaCreated>, Accepted<IReadOnlyDictionary<string, string>>, JsonHttpResult<CondaError>>> ResetEnvironment(
        string name, int? wait, [AsParameters] EnvironmentServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (record, error) = await FindAsync(name, s);
        if (record is null)
        {
            return error!;
        }

        // Rebuild from the recorded specs and the requested major.minor (the record holds the actual patch version).
        var python = RunnerCapabilitiesView.MajorMinor(record.PythonVersion) ?? record.PythonVersion;
        var input = s.NewBuild(EnvOperations.Reset, record, new { name }) with { Packages = record.RequestedSpecs, PythonVersion = python };
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
            return Failure(result, $"Failed to reset environment '{name}'");
        }

        var env = result.Snapshot!;
        return TypedResults.Ok(new CondaCreated(true, "Environment reset successfully", new CondaCreatedEnv(env.Name, env.PythonVersion, EnvironmentHttp.Date(env.CreatedAt), env.PackageCount)));
    }
}
