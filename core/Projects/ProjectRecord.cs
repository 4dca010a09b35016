namespace EnvFabric.Core.Projects;

/// <summary>A project: a directory tree under <c>projects/{name}/</c> on the share that tasks run in.</summary>
public sealed record ProjectRecord
{
    public required string Name { get; init; }

    public string Namespace { get; init; } = "default";

    /// <summary>Where a task of the project runs, relative to the project root ("" = the root).</summary>
    public string WorkDir { get; init; } = "";

    /// <summary>A folder, relative to the project root, created before each run and given as <c>ENVFABRIC_OUTPUT_DIR</c>; null = none.</summary>
    public string? OutputDir { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Total bytes of the project's files, measured at the last change made through the API.</summary>
    public long SizeBytes { get; init; }

    /// <summary>Number of files, measured with <see cref="SizeBytes"/>.</summary>
    public int FileCount { get; init; }

    /// <summary>Optimistic concurrency tag of the stored row.</summary>
    public string? ETag { get; init; }

    /// <summary>The project's directory relative to DATA_ROOT.</summary>
    public string Directory => DirectoryOf(Name);

    /// <summary>The variable that gives a project task's run the absolute path of its output folder.</summary>
    public const string OutputDirectoryVariable = "ENVFABRIC_OUTPUT_DIR";

    /// <summary><c>projects/{name}</c>.</summary>
    public static string DirectoryOf(string name) => "projects/" + name;
}

/// <summary>A task that runs in a project.</summary>
/// <param name="TaskId">The task's id.</param>
/// <param name="TaskName">The task's name.</param>
public sealed record ProjectTaskReference(long TaskId, string TaskName);
