namespace EnvFabric.Core.Backup;

/// <summary>Limits and scope of backups (the BACKUP_* settings).</summary>
public sealed record BackupOptions
{
    /// <summary>
    /// Tables (named without the storage prefix) that hold runtime state only and are never backed up:
    /// runner heartbeats and job rows, environment locks, task concurrency-slot holders, host memory samples.
    /// </summary>
    public static readonly IReadOnlyList<string> RuntimeTables = ["Runners", "RunnerJobs", "EnvironmentLocks", "TaskSlots", "SystemSamples"];

    /// <summary>The durable task hub; tables whose name starts with it are the hub's and never backed up.</summary>
    public required string HubName { get; init; }

    /// <summary>Largest archive accepted for restore (BACKUP_MAX_MB).</summary>
    public long MaxArchiveBytes { get; init; } = 1024L * 1024 * 1024;

    /// <summary>Largest total of uncompressed entries a restore accepts (BACKUP_MAX_EXPANDED_MB).</summary>
    public long MaxExpandedBytes { get; init; } = 8192L * 1024 * 1024;

    /// <summary>Most entries in an archive (BACKUP_MAX_ENTRIES).</summary>
    public int MaxEntries { get; init; } = 200_000;

    /// <summary>Snapshots taken at most until one is consistent (BACKUP_CONSISTENCY_ATTEMPTS).</summary>
    public int ConsistencyAttempts { get; init; } = 3;

    /// <summary>More tables to leave out, named without the prefix (BACKUP_EXCLUDE_TABLES).</summary>
    public IReadOnlyList<string> ExcludedTables { get; init; } = [];

    /// <summary>Whether the table named <paramref name="logicalName"/> (without prefix) is left out.</summary>
    public bool IsExcluded(string logicalName) =>
        RuntimeTables.Contains(logicalName, StringComparer.OrdinalIgnoreCase) || ExcludedTables.Contains(logicalName, StringComparer.OrdinalIgnoreCase);
}
