using EnvFabric.Core.Configuration;
using EnvFabric.Core.Projects;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EnvFabric.Functions.Extensions;

/// <summary>Registration of the projects API: the repository, the per-project locks and the settings.</summary>
public static class ProjectExtensions
{
    /// <summary>Largest PROJECT_MAX_EDIT_KB.</summary>
    public const int MaxEditKb = 65_536;

    public static WebApplicationBuilder AddProjects(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IProjectRepository, TableProjectRepository>();
        services.TryAddSingleton<ProjectLocks>();
        // Read when the host starts (ValidateOnStart), so a wrong PROJECT_MAX_EDIT_KB stops it with one line.
        services.AddOptions<ProjectOptions>()
            .Configure(o =>
            {
                var read = ReadOptions(configuration);
                o.Upload = read.Upload;
                o.MaxEditBytes = read.MaxEditBytes;
            })
            .ValidateOnStart();
        return builder;
    }

    /// <summary>
    /// The projects' settings: the ZIP limits of task uploads (TASK_MAX_UPLOAD_MB, TASK_MAX_EXTRACTED_MB,
    /// TASK_MAX_ZIP_ENTRIES) with project path lengths, and PROJECT_MAX_EDIT_KB; a wrong value stops the host with
    /// one line naming it.
    /// </summary>
    public static ProjectOptions ReadOptions(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var upload = TaskExtensions.ReadOptions(configuration).Upload with { MaxPathLength = ProjectPath.MaxPathBytes, MaxNameLength = ProjectPath.MaxSegmentBytes };
        var editKb = SettingValue.ReadInt(configuration, "PROJECT_MAX_EDIT_KB", 1024, 1, MaxEditKb);
        return new ProjectOptions { Upload = upload, MaxEditBytes = editKb * 1024 };
    }
}

/// <summary>Settings of the projects API.</summary>
public sealed class ProjectOptions
{
    /// <summary>Upload and ZIP limits, shared with task uploads.</summary>
    public Core.Tasks.UploadLimits Upload { get; set; } = new();

    /// <summary>Largest file the editor reads or writes (PROJECT_MAX_EDIT_KB, default 1024).</summary>
    public int MaxEditBytes { get; set; } = 1024 * 1024;
}

/// <summary>
/// One lock per project name in this host, held by every change (upload, swap, delete, file edit), so two uploads
/// never swap at once and a delete never races a swap. The swap itself is a rename, so readers and runs always see
/// a whole tree.
/// </summary>
public sealed class ProjectLocks
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <summary>Waits for the project's lock; dispose the result to release it.</summary>
    public async Task<IDisposable> TakeAsync(string name, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(name, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        return new Release(gate);
    }

    private sealed class Release(SemaphoreSlim gate) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                gate.Release();
            }
        }
    }
}
