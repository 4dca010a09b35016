namespace EnvFabric.Core.Projects;

/// <summary>Outcome of a project row write.</summary>
public enum ProjectSaveOutcome
{
    /// <summary>Written.</summary>
    Saved,

    /// <summary>The name is taken (add), or the row changed since it was read (update).</summary>
    Conflict,

    /// <summary>The row does not exist.</summary>
    NotFound,
}

/// <summary>The projects table, and which tasks run in a project.</summary>
public interface IProjectRepository
{
    /// <summary>Creates the table when missing.</summary>
    Task EnsureCreatedAsync(CancellationToken cancellationToken = default);

    /// <summary>The project, or null.</summary>
    Task<ProjectRecord?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every project in name order; <paramref name="ns"/> limits to one namespace.</summary>
    IAsyncEnumerable<ProjectRecord> ListAsync(string? ns = null, CancellationToken cancellationToken = default);

    /// <summary>Adds a new project; <see cref="ProjectSaveOutcome.Conflict"/> when the name is taken.</summary>
    Task<(ProjectSaveOutcome Outcome, ProjectRecord? Saved)> AddAsync(ProjectRecord project, CancellationToken cancellationToken = default);

    /// <summary>Replaces the project if its <see cref="ProjectRecord.ETag"/> still matches (null ETag: unconditionally).</summary>
    Task<(ProjectSaveOutcome Outcome, ProjectRecord? Saved)> UpdateAsync(ProjectRecord project, CancellationToken cancellationToken = default);

    /// <summary>Removes the project's row; true when it existed.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>The tasks whose <c>Project</c> is <paramref name="name"/>, in id order.</summary>
    Task<IReadOnlyList<ProjectTaskReference>> TasksUsingAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>How many tasks run in each project that has any, by project name: one query for a whole listing.</summary>
    Task<IReadOnlyDictionary<string, int>> TaskCountsAsync(CancellationToken cancellationToken = default);
}
