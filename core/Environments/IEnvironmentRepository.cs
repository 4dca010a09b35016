namespace EnvFabric.Core.Environments;

/// <summary>The environments table: one row per environment, written with optimistic concurrency.</summary>
public interface IEnvironmentRepository
{
    /// <summary>Creates the table when missing.</summary>
    Task EnsureCreatedAsync(CancellationToken cancellationToken = default);

    /// <summary>The environment, or null.</summary>
    Task<EnvironmentRecord?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every environment, streamed in name order (full records).</summary>
    IAsyncEnumerable<EnvironmentRecord> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Every environment's list fields only (name, Python version, created time, package count, status).</summary>
    IAsyncEnumerable<EnvironmentSummary> ListSummariesAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds a new environment; <see cref="SaveOutcome.Conflict"/> when the name is taken.</summary>
    Task<SaveResult> AddAsync(EnvironmentRecord record, CancellationToken cancellationToken = default);

    /// <summary>Replaces the environment if its <see cref="EnvironmentRecord.ETag"/> still matches (or unconditionally when null).</summary>
    Task<SaveResult> UpdateAsync(EnvironmentRecord record, CancellationToken cancellationToken = default);

    /// <summary>Removes the environment; true when it existed.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>The fields a list shows, read without the package and lock payloads.</summary>
/// <param name="Name">Environment name.</param>
/// <param name="PythonVersion">Python version.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="PackageCount">Installed package count.</param>
/// <param name="Status">Lifecycle status.</param>
/// <param name="LastUsedAt">Last use, for idle cleanup.</param>
public sealed record EnvironmentSummary(string Name, string PythonVersion, DateTimeOffset CreatedAt, int PackageCount, EnvironmentStatus Status, DateTimeOffset LastUsedAt);
