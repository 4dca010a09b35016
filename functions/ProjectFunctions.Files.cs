using EnvFabric.Core.Projects;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

public static partial class ProjectFunctions
{
    /// <summary>The response header naming a file's encoding.</summary>
    public const string EncodingHeader = "X-Content-Encoding";

    public static async Task<IResult> ListFiles(string name, string? path, [AsParameters] ProjectServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (project, missing) = await FindAsync(name, s);
        if (project is null)
        {
            return missing!;
        }

        var (result, entries) = s.FilesOf(project.Name).List(path);
        return result.Status != ProjectFileStatus.Ok
            ? Refusal(result)
            : TypedResults.Ok(new ProjectListing(
                true,
                ProjectPath.Normalize(path),
                entries.Select(e => new ProjectEntryView(e.Name, e.Path, e.Type, e.Size, TaskFunctions.Date(e.ModifiedAt)!)).ToList()));
    }

    public static async Task<IResult> ReadFile(string name, string? path, [AsParameters] ProjectServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var (project, missing) = await FindAsync(name, s);
        if (project is null)
        {
            return missing!;
        }

        var (result, text) = await s.FilesOf(project.Name).ReadAsync(path, s.Aborted);
        if (result.Status != ProjectFileStatus.Ok)
        {
            return Refusal(result);
        }

        s.Context.Response.Headers[EncodingHeader] = text!.Encoding;
        return TypedResults.Ok(new ProjectFileContent(true, ProjectPath.Normalize(path), text.Content, text.Encoding, text.Size, TaskFunctions.Date(text.ModifiedAt)!));
    }

    public static async Task<IResult> WriteFile(string name, string? path, [FromBody] ProjectFileWrite body, [AsParameters] ProjectServices s)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(s);
        if (body.Content is null)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Missing required field", "content is required");
        }

        return await ChangeAsync(name, s, "write", async (files, project) =>
        {
            var result = await files.WriteAsync(path, body.Content, s.Aborted);
            if (result.Status != ProjectFileStatus.Ok)
            {
                return (result, null);
            }

            await AuditAsync(s, "file.write", project.Name, new { name = project.Name, path = ProjectPath.Normalize(path), bytes = System.Text.Encoding.UTF8.GetByteCount(body.Content), created = result.Created });
            return (result, TypedResults.Ok(new ProjectFileChanged(true, result.Created ? "File created successfully" : "File saved successfully", ProjectPath.Normalize(path), ProjectFiles.FileType)));
        });
    }

    public static async Task<IResult> CreateFile(string name, [FromBody] ProjectFileCreate body, [AsParameters] ProjectServices s)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(s);
        var type = body.Type ?? ProjectFiles.FileType;
        return await ChangeAsync(name, s, "create files in", async (files, project) =>
        {
            var result = await files.CreateAsync(body.Path, type, body.Content, s.Aborted);
            if (result.Status != ProjectFileStatus.Ok)
            {
                return (result, null);
            }

            await AuditAsync(s, "file.create", project.Name, new { name = project.Name, path = ProjectPath.Normalize(body.Path), type });
            return (result, TypedResults.Json(
                new ProjectFileChanged(true, type == ProjectFiles.DirectoryType ? "Directory created successfully" : "File created successfully", ProjectPath.Normalize(body.Path), type),
                statusCode: StatusCodes.Status201Created));
        });
    }

    public static async Task<IResult> DeleteFile(string name, string? path, [AsParameters] ProjectServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return await ChangeAsync(name, s, "delete files in", async (files, project) =>
        {
            var result = files.Delete(path);
            if (result.Status != ProjectFileStatus.Ok)
            {
                return (result, null);
            }

            await AuditAsync(s, "file.delete", project.Name, new { name = project.Name, path = ProjectPath.Normalize(path) });
            return (result, TypedResults.Ok(new ProjectFileChanged(true, "Deleted successfully", ProjectPath.Normalize(path))));
        });
    }

    public static async Task<IResult> MoveFile(string name, [FromBody] ProjectFileMove body, [AsParameters] ProjectServices s)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(s);
        return await ChangeAsync(name, s, "move files in", async (files, project) =>
        {
            var result = files.Move(body.From, body.To);
            if (result.Status != ProjectFileStatus.Ok)
            {
                return (result, null);
            }

            await AuditAsync(s, "file.move", project.Name, new { name = project.Name, from = ProjectPath.Normalize(body.From), to = ProjectPath.Normalize(body.To) });
            return (result, TypedResults.Ok(new ProjectFileChanged(true, "Moved successfully", ProjectPath.Normalize(body.To), From: ProjectPath.Normalize(body.From))));
        });
    }

    /// <summary>
    /// A file change under the project's lock (so it never lands in a tree being swapped out): find the project (403
    /// for another namespace's), apply, re-measure when done; a refusal maps to its status and changes nothing.
    /// </summary>
    private static async Task<IResult> ChangeAsync(
        string name, ProjectServices s, string action, Func<ProjectFiles, ProjectRecord, Task<(ProjectFileResult Result, IResult? Done)>> change)
    {
        var (found, missing) = await FindAsync(name, s, action);
        if (found is null)
        {
            return missing!;
        }

        using var held = await s.Locks.TakeAsync(found.Name, s.Aborted);
        var project = await s.Projects.GetAsync(found.Name, s.Aborted);
        if (project is null || !Directory.Exists(s.RootOf(project.Name)))
        {
            return NotFound(name);
        }

        var (result, done) = await change(s.FilesOf(project.Name), project);
        if (done is null)
        {
            return Refusal(result);
        }

        await RemeasureAsync(s, project);
        return done;
    }

    private static JsonHttpResult<CondaError> Refusal(ProjectFileResult result) => result.Status switch
    {
        ProjectFileStatus.NotFound => ErrorBodies.Conda(StatusCodes.Status404NotFound, "Path not found", result.Error),
        ProjectFileStatus.ParentMissing => ErrorBodies.Conda(StatusCodes.Status404NotFound, "Folder not found", result.Error),
        ProjectFileStatus.Exists => ErrorBodies.Conda(StatusCodes.Status409Conflict, "Path already exists", result.Error),
        ProjectFileStatus.WrongType => ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Wrong file type", result.Error),
        ProjectFileStatus.TooLarge => ErrorBodies.Conda(StatusCodes.Status413PayloadTooLarge, "File too large", result.Error),
        ProjectFileStatus.Binary => ErrorBodies.Conda(StatusCodes.Status415UnsupportedMediaType, "Not a text file", result.Error),
        _ => ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid path", result.Error),
    };
}
