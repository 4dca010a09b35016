namespace EnvFabric.Core.Audit;

/// <summary>
/// One row of seed 001's <c>env_operations</c>: who (the key's name), from where (client IP), what
/// (operation, environment), the inputs, the outcome, how long it took and the error.
/// </summary>
public sealed record AuditRecord
{
    /// <summary>Unique id of the row.</summary>
    public required string Id { get; init; }

    /// <summary>When the operation finished (or was refused).</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>create, delete, add, remove, sync, rename, reset, run, cleanup, ...</summary>
    public required string Operation { get; init; }

    /// <summary>The environment it touched.</summary>
    public required string Environment { get; init; }

    /// <summary>The caller's key name (or <c>system</c> for timers).</summary>
    public required string Who { get; init; }

    /// <summary>The caller's IP address (empty for timers).</summary>
    public string ClientIp { get; init; } = "";

    /// <summary>The inputs as JSON.</summary>
    public string Inputs { get; init; } = "{}";

    /// <summary>succeeded or failed.</summary>
    public required string Outcome { get; init; }

    /// <summary>Duration in milliseconds.</summary>
    public long DurationMs { get; init; }

    /// <summary>The error, when failed.</summary>
    public string? Error { get; init; }

    /// <summary>The orchestration instance (install log id), when there was one.</summary>
    public string? OperationId { get; init; }
}

/// <summary>Filters for <see cref="IAuditLog.QueryAsync"/>; null means any.</summary>
public sealed record AuditQuery
{
    /// <summary>Operation name.</summary>
    public string? Operation { get; init; }

    /// <summary>Environment name.</summary>
    public string? Environment { get; init; }

    /// <summary>Client IP.</summary>
    public string? ClientIp { get; init; }

    /// <summary>The operation (orchestration) id.</summary>
    public string? OperationId { get; init; }

    /// <summary>At or after.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>At or before.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Most rows returned (newest first).</summary>
    public int Limit { get; init; } = 100;
}

/// <summary>The audit table.</summary>
public interface IAuditLog
{
    /// <summary>Creates the table when missing (start-up only: a missing table later is an audit failure).</summary>
    Task EnsureCreatedAsync(CancellationToken cancellationToken = default);

    /// <summary>Writes one row; throws <see cref="AuditWriteException"/> when storage refuses it.</summary>
    Task WriteAsync(AuditRecord record, CancellationToken cancellationToken = default);

    /// <summary>Rows matching <paramref name="query"/>, newest first.</summary>
    Task<IReadOnlyList<AuditRecord>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default);
}

/// <summary>The audit write failed; callers answer <c>DB_AUDIT_ERROR</c>.</summary>
public sealed class AuditWriteException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AuditWriteException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public AuditWriteException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public AuditWriteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
