using EnvFabric.Core.Projects;
using EnvFabric.Core.Tasks;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EnvFabric.Functions;

/// <summary>
/// Projects under <c>/api/projects</c> (seed 004's project management): a ZIP extracted under
/// <c>projects/{name}/</c> with its directory structure kept, a file browser and editor over it, and tasks that run
/// in its work_dir. Re-uploads are staged beside the project and swapped in by rename. Every path from a user is
/// confined to the project (<see cref="ProjectPath"/>); a <c>user</c> key sees and touches only its namespace's projects.
/// </summary>
public static partial class ProjectFunctions
{
    public static RouteGroupBuilder MapProjectFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/api/projects").WithTags("Projects").AddEndpointFilter(Extensions.EnvironmentReadiness.Filter);
        group.MapGet("", ListProjects).WithSummary("Lists the projects of the caller's namespace (every namespace for an admin key).");
        group.MapGet("/{name}", GetProject).WithSummary("A project with its size, file count and the tasks that run in it.");
        group.MapPost("", CreateProject).DisableAntiforgery().DisableRequestTimeout()
            .WithSummary("Creates a project from a ZIP (multipart: name, file, work_dir, output_dir, namespace), keeping its directory structure.");
        group.MapPut("/{name}", ReplaceProject).DisableAntiforgery().DisableRequestTimeout()
            .WithSummary("Replaces a project's files with a new ZIP (multipart: file, work_dir, output_dir): extracted beside it, then swapped in.");
        group.MapDelete("/{name}", DeleteProject).WithSummary("Deletes a project and its files; refused (409) while a task uses it.");

        group.MapGet("/{name}/files", ListFiles).WithSummary("Lists a folder of the project (path relative to its root; empty = the root).");
        group.MapGet("/{name}/files/content", ReadFile).WithSummary("A text file's content, its encoding in X-Content-Encoding; 415 for binary files, 413 over PROJECT_MAX_EDIT_KB.");
        group.MapPut("/{name}/files/content", WriteFile).WithSummary("Writes a text file atomically ({\"content\": ...}); creates it when its folder exists.");
        group.MapPost("/{name}/files", CreateFile).WithSummary("Creates a file or folder ({\"path\", \"type\": \"file|directory\", \"content\"}); 409 when it exists.");
        group.MapDelete("/{name}/files", DeleteFile).WithSummary("Deletes a file or folder (not the project root).");
        group.MapPost("/{name}/files/move", MoveFile).WithSummary("Moves or renames a file or folder ({\"from\", \"to\"}); 409 when the target exists.");
        return group;
    }

    public static async Task<IResult> ListProjects([AsParameters] ProjectServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var counts = await s.Projects.TaskCountsAsync(s.Aborted);
        var list = new List<ProjectListItem>();
        await foreach (var project in s.Projects.ListAsync(s.VisibleNamespace, s.Aborted))
        {
            var v = View(project);
            list.Add(new ProjectListItem(v.Name, v.Namespace, v.Path, v.WorkDir, v.OutputDir, v.CreatedAt, v.UpdatedAt, v.SizeBytes, v.FileCount, counts.GetValueOrDefault(project.Name)));
        }

        return TypedResults.Ok(new ProjectList(true, list, list.Count));
    }

    public static async Task<IResult> GetProject(string name, [AsParameters] ProjectServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (project, missing) = await FindAsync(name, s);
        if (project is null)
        {
            return missing!;
        }

        var tasks = (await s.Projects.TasksUsingAsync(project.Name, s.Aborted)).Select(t => new ProjectTaskItem(t.TaskId, t.TaskName)).ToList();
        var v = View(project);
        return TypedResults.Ok(new ProjectDetail(true, new ProjectDetailView(v.Name, v.Namespace, v.Path, v.WorkDir, v.OutputDir, v.CreatedAt, v.UpdatedAt, v.SizeBytes, v.FileCount, tasks)));
    }

    public static async Task<IResult> CreateProject([AsParameters] ProjectServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (form, unreadable) = await ReadFormAsync(s);
        if (form is null)
        {
            return unreadable!;
        }

        var name = Field(form, "name");
        if (ProjectName.Validate(name) is { } nameError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid project name", nameError);
        }

        if (form.Files.GetFile("file") is not { } file)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "No project file provided", "file (a ZIP archive) is required");
        }

        var workDir = Field(form, "work_dir") ?? "";
        var outputDir = Field(form, "output_dir");
        if (ValidateDirectories(workDir, outputDir) is { } directoryError)
        {
            return directoryError;
        }

        var ns = NamespaceAccess.NamespaceForNew(s.Context.User, Field(form, "namespace"));
        if (ns is null)
        {
            return NamespaceAccess.Forbidden(s.Context, "You do not have permission to create projects in this namespace");
        }

        using var held = await s.Locks.TakeAsync(name!, s.Aborted);
        if (await s.Projects.GetAsync(name!, s.Aborted) is not null)
        {
            return Exists(name!);
        }

        var (staging, upload, refused) = await StageAsync(s, file, workDir, outputDir);
        if (staging is null)
        {
            return refused!;
        }

        try
        {
            var now = s.Time.GetUtcNow();
            var (bytes, count) = ProjectFiles.Measure(staging);
            var record = new ProjectRecord
            {
                Name = name!,
                Namespace = ns,
                WorkDir = ProjectPath.Normalize(workDir),
                OutputDir = outputDir is null ? null : ProjectPath.Normalize(outputDir),
                CreatedAt = now,
                UpdatedAt = now,
                SizeBytes = bytes,
                FileCount = count,
            };

            // The row first: of two hosts creating one name, only the one whose row lands swaps its files in.
            var (outcome, saved) = await s.Projects.AddAsync(record, s.Aborted);
            if (outcome != ProjectSaveOutcome.Saved)
            {
                return Exists(name!);
            }

            try
            {
                TaskUpload.Commit(staging, s.RootOf(name!));
            }
            catch
            {
                await s.Projects.DeleteAsync(name!, CancellationToken.None);
                throw;
            }

            await AuditAsync(s, "create", name!, new { name, @namespace = ns, work_dir = record.WorkDir, output_dir = record.OutputDir, files = upload!.Files.Count, size_bytes = bytes });
            return TypedResults.Json(new ProjectSaved(true, "Project created successfully", View(saved!), upload.Files.Count), statusCode: StatusCodes.Status201Created);
        }
        finally
        {
            DeleteQuietly(staging);
        }
    }

    public static async Task<IResult> ReplaceProject(string name, [AsParameters] ProjectServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (project, missing) = await FindAsync(name, s, "update");
        if (project is null)
        {
            return missing!;
        }

        var (form, unreadable) = await ReadFormAsync(s);
        if (form is null)
        {
            return unreadable!;
        }

        if (form.Files.GetFile("file") is not { } file)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "No project file provided", "file (a ZIP archive) is required");
        }

        // Absent: kept; present and empty: the root (work_dir) or none (output_dir).
        var workDir = form.ContainsKey("work_dir") ? Field(form, "work_dir") ?? "" : project.WorkDir;
        var outputDir = form.ContainsKey("output_dir") ? Field(form, "output_dir") : project.OutputDir;
        if (ValidateDirectories(workDir, outputDir) is { } directoryError)
        {
            return directoryError;
        }

        using var held = await s.Locks.TakeAsync(project.Name, s.Aborted);
        project = await s.Projects.GetAsync(project.Name, s.Aborted);
        if (project is null)
        {
            return NotFound(name);
        }

        var (staging, upload, refused) = await StageAsync(s, file, workDir, outputDir);
        if (staging is null)
        {
            return refused!;
        }

        try
        {
            var (bytes, count) = ProjectFiles.Measure(staging);
            TaskUpload.Commit(staging, s.RootOf(project.Name));
            var (outcome, saved) = await s.Projects.UpdateAsync(
                project with { WorkDir = ProjectPath.Normalize(workDir), OutputDir = outputDir is null ? null : ProjectPath.Normalize(outputDir), SizeBytes = bytes, FileCount = count, ETag = null },
                s.Aborted);
            if (outcome == ProjectSaveOutcome.NotFound)
            {
                return NotFound(name);
            }

            await AuditAsync(s, "update", project.Name, new { name = project.Name, work_dir = saved!.WorkDir, output_dir = saved.OutputDir, files = upload!.Files.Count, size_bytes = bytes });
            return TypedResults.Ok(new ProjectSaved(true, "Project updated successfully", View(saved), upload.Files.Count));
        }
        finally
        {
            DeleteQuietly(staging);
        }
    }

    public static async Task<IResult> DeleteProject(string name, [AsParameters] ProjectServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (project, missing) = await FindAsync(name, s, "delete");
        if (project is null)
        {
            return missing!;
        }

        using var held = await s.Locks.TakeAsync(project.Name, s.Aborted);
        var users = await s.Projects.TasksUsingAsync(project.Name, s.Aborted);
        if (users.Count > 0)
        {
            return TypedResults.Json(
                new ProjectInUse(
                    false,
                    $"Project '{project.Name}' is in use",
                    $"{users.Count} task(s) run in this project: " + string.Join(", ", users.Select(u => $"{u.TaskId} ({u.TaskName})")) + "; delete them or move them to another project first",
                    users.Select(u => new ProjectTaskItem(u.TaskId, u.TaskName)).ToList()),
                statusCode: StatusCodes.Status409Conflict);
        }

        await s.Projects.DeleteAsync(project.Name, s.Aborted);
        var root = s.RootOf(project.Name);
        if (Directory.Exists(root))
        {
            // Renamed aside first, so the name is free at once and a half-deleted tree is never seen as the project.
            var doomed = Path.Combine(s.Paths.Projects, $".deleting-{Guid.NewGuid():N}");
            Directory.Move(root, doomed);
            DeleteQuietly(doomed);
        }

        await AuditAsync(s, "delete", project.Name, new { name = project.Name, size_bytes = project.SizeBytes, files = project.FileCount });
        return TypedResults.Ok(new ProjectDeleted(true, "Project deleted successfully", project.Name));
    }

    // --- shared helpers ---

    /// <summary>The project named by the route, if the caller may see it; else a 404 (or a 403 for a change, <paramref name="action"/>).</summary>
    private static async Task<(ProjectRecord? Project, IResult? Missing)> FindAsync(string name, ProjectServices s, string? action = null)
    {
        var project = ProjectName.IsValid(name) ? await s.Projects.GetAsync(name, s.Aborted) : null;
        if (project is not null && !NamespaceAccess.CanAct(s.Context.User, project.Namespace))
        {
            // Reads do not reveal another namespace's project; changes get seed 003's 403.
            return (null, action is null ? NotFound(name) : NamespaceAccess.Forbidden(s.Context, $"You do not have permission to {action} this project"));
        }

        return project is null ? (null, NotFound(name)) : (project, null);
    }

    private static JsonHttpResult<CondaError> NotFound(string name) =>
        ErrorBodies.Conda(StatusCodes.Status404NotFound, "Project not found", $"Project '{ShortName(name)}' not found");

    private static JsonHttpResult<CondaError> Exists(string name) =>
        ErrorBodies.Conda(StatusCodes.Status409Conflict, "Project with this name already exists", $"Project '{name}' already exists");

    private static string ShortName(string name) => name.Length > 80 ? name[..80] + "..." : name;

    private static JsonHttpResult<CondaError>? ValidateDirectories(string workDir, string? outputDir)
    {
        if (ProjectPath.Validate(workDir) is { } workError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid work_dir", workError);
        }

        if (outputDir is not null && ProjectPath.Validate(outputDir, allowRoot: false) is { } outputError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid output_dir", outputError);
        }

        return null;
    }

    /// <summary>
    /// Extracts the upload beside the projects (a staging directory of its own) and checks work_dir and output_dir
    /// against the extracted tree; a refusal leaves nothing behind.
    /// </summary>
    private static async Task<(string? Staging, UploadResult? Upload, IResult? Refused)> StageAsync(ProjectServices s, IFormFile file, string workDir, string? outputDir)
    {
        Directory.CreateDirectory(s.Paths.Projects);
        var staging = Path.Combine(s.Paths.Projects, ".staging-" + Guid.NewGuid().ToString("N"));
        UploadResult upload;
        try
        {
            await using var content = file.OpenReadStream();
            upload = await TaskUpload.StageArchiveAsync(
                content, file.FileName, staging, s.Options.Upload, new ArchiveExtraction(KeepTopFolder: true, CheckPath: p => ProjectPath.Validate(p)), s.Aborted);
        }
        catch (UploadException ex)
        {
            return (null, null, ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Failed to process uploaded file", ex.Message));
        }

        var (work, _) = ProjectPath.Resolve(staging, workDir);
        if (work is null || !Directory.Exists(work))
        {
            DeleteQuietly(staging);
            return (null, null, ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid work_dir", $"work_dir '{ProjectPath.Normalize(workDir)}' is not a folder of the uploaded project"));
        }

        if (outputDir is not null && ProjectPath.Resolve(staging, outputDir) is var (output, _) && (output is null || File.Exists(output)))
        {
            DeleteQuietly(staging);
            return (null, null, ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid output_dir", $"output_dir '{ProjectPath.Normalize(outputDir)}' is a file of the uploaded project"));
        }

        return (staging, upload, null);
    }

    /// <summary>The multipart form within the upload limit, or seed 003's "Failed to process uploaded file".</summary>
    private static async Task<(IFormCollection? Form, IResult? Error)> ReadFormAsync(ProjectServices s)
    {
        if (!s.Context.Request.HasFormContentType)
        {
            return (null, ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Failed to process uploaded file", "The request must be multipart/form-data with a file"));
        }

        try
        {
            var limit = new Microsoft.AspNetCore.Http.Features.FormOptions { MultipartBodyLengthLimit = s.Options.Upload.MaxUploadBytes + 1024 * 1024 };
            return (await s.Context.Request.ReadFormAsync(limit, s.Aborted), null);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or BadHttpRequestException)
        {
            return (null, ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Failed to process uploaded file", ex.Message));
        }
    }

    private static string? Field(IFormCollection form, string name) =>
        form.TryGetValue(name, out var values) && values.ToString() is { } text && !string.IsNullOrWhiteSpace(text) ? text.Trim() : null;

    private static void DeleteQuietly(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover staging directory is disk space, not a wrong project.
        }
    }

    private static ProjectView View(ProjectRecord p) => new(
        p.Name, p.Namespace, p.Directory + "/", p.WorkDir, p.OutputDir, TaskFunctions.Date(p.CreatedAt)!, TaskFunctions.Date(p.UpdatedAt)!, p.SizeBytes, p.FileCount);

    /// <summary>Re-measures the project after a file change and records it (best effort: the measure is informational).</summary>
    private static async Task RemeasureAsync(ProjectServices s, ProjectRecord project)
    {
        // Under the project's lock, so the row read then is still the row now.
        var (bytes, count) = s.FilesOf(project.Name).Measure();
        await s.Projects.UpdateAsync(project with { SizeBytes = bytes, FileCount = count, ETag = null }, CancellationToken.None);
    }

    private static Task AuditAsync(ProjectServices s, string operation, string project, object inputs, string outcome = "succeeded", string? error = null) =>
        s.Audit.WriteQuietlyAsync(s.Context, s.Time, "project." + operation, project, inputs, outcome: outcome, error: error);
}
