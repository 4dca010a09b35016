using EnvFabric.Core.Configuration;
using EnvFabric.Core.Projects;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Extensions;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>What the project handlers need, bound with <c>[AsParameters]</c>.</summary>
public sealed class ProjectServices
{
    public required HttpContext Context { get; init; }

    [FromServices]
    public required IProjectRepository Projects { get; init; }

    [FromServices]
    public required ProjectLocks Locks { get; init; }

    [FromServices]
    public required Core.Audit.IAuditLog Audit { get; init; }

    [FromServices]
    public required DataPaths Paths { get; init; }

    [FromServices]
    public required Microsoft.Extensions.Options.IOptions<ProjectOptions> Settings { get; init; }

    public ProjectOptions Options => Settings.Value;

    [FromServices]
    public required TimeProvider Time { get; init; }

    public CancellationToken Aborted => Context.RequestAborted;

    /// <summary>The caller's key name.</summary>
    public string Who => NamespaceAccess.KeyNameOf(Context.User) ?? "anonymous";

    /// <summary>The caller's address.</summary>
    public string ClientIp => Context.Connection.RemoteIpAddress?.ToString() ?? "";

    /// <summary>The namespace a listing is limited to: null for admins (everything), else the key's own.</summary>
    public string? VisibleNamespace => NamespaceAccess.IsAdmin(Context.User) ? null : NamespaceAccess.NamespaceOf(Context.User) ?? NamespaceAccess.DefaultNamespace;

    /// <summary>The project's absolute root directory.</summary>
    public string RootOf(string name) => Path.Combine(Paths.Projects, name);

    /// <summary>The file browser over the project's directory.</summary>
    public ProjectFiles FilesOf(string name) => new(RootOf(name), Options.MaxEditBytes);
}

/// <summary>The JSON body of <c>PUT /api/projects/{name}/files/content</c>.</summary>
public sealed record ProjectFileWrite(string? Content);

/// <summary>The JSON body of <c>POST /api/projects/{name}/files</c>.</summary>
public sealed record ProjectFileCreate(string? Path, string? Type, string? Content);

/// <summary>The JSON body of <c>POST /api/projects/{name}/files/move</c>.</summary>
public sealed record ProjectFileMove(string? From, string? To);

/// <summary>A project as the API shows it.</summary>
public sealed record ProjectView(
    string Name,
    string Namespace,
    string Path,
    string WorkDir,
    string? OutputDir,
    string CreatedAt,
    string UpdatedAt,
    long SizeBytes,
    int FileCount);

/// <summary>A task that runs in the project.</summary>
public sealed record ProjectTaskItem(long TaskId, string TaskName);

/// <summary>A project with the tasks using it.</summary>
public sealed record ProjectDetailView(
    string Name,
    string Namespace,
    string Path,
    string WorkDir,
    string? OutputDir,
    string CreatedAt,
    string UpdatedAt,
    long SizeBytes,
    int FileCount,
    IReadOnlyList<ProjectTaskItem> Tasks);

/// <summary><c>POST</c> and <c>PUT /api/projects[/{name}]</c>.</summary>
public sealed record ProjectSaved(bool Success, string Message, ProjectView Project, int ExtractedFiles);

/// <summary>A project as listed: with how many tasks run in it.</summary>
public sealed record ProjectListItem(
    string Name,
    string Namespace,
    string Path,
    string WorkDir,
    string? OutputDir,
    string CreatedAt,
    string UpdatedAt,
    long SizeBytes,
    int FileCount,
    int TaskCount);

/// <summary><c>GET /api/projects</c>.</summary>
public sealed record ProjectList(bool Success, IReadOnlyList<ProjectListItem> Projects, int Total);

/// <summary><c>GET /api/projects/{name}</c>.</summary>
public sealed record ProjectDetail(bool Success, ProjectDetailView Project);

/// <summary><c>DELETE /api/projects/{name}</c>.</summary>
public sealed record ProjectDeleted(bool Success, string Message, string Name);

/// <summary>A project in use: seed 003's error with the tasks that use it.</summary>
public sealed record ProjectInUse(bool Success, string Message, string Error, IReadOnlyList<ProjectTaskItem> Tasks);

/// <summary>One entry of a folder listing.</summary>
public sealed record ProjectEntryView(string Name, string Path, string Type, long? Size, string ModifiedAt);

/// <summary><c>GET /api/projects/{name}/files</c>.</summary>
public sealed record ProjectListing(bool Success, string Path, IReadOnlyList<ProjectEntryView> Entries);

/// <summary><c>GET /api/projects/{name}/files/content</c>.</summary>
public sealed record ProjectFileContent(bool Success, string Path, string Content, string Encoding, long Size, string ModifiedAt);

/// <summary>The answer of a file change (write, create, delete, move).</summary>
public sealed record ProjectFileChanged(bool Success, string Message, string Path, string? Type = null, string? From = null);
