using System.Text.Json.Serialization;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Backup;
using EnvFabric.Functions.Auth;
using EnvFabric.Orchestrations.Tasks;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>One backup or restore at a time on a host: both read or replace every table.</summary>
public sealed class BackupGate : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Takes the gate without waiting when <paramref name="timeoutMs"/> is 0; false when it is taken.</summary>
    public Task<bool> WaitAsync(int timeoutMs, CancellationToken cancellationToken) => _gate.WaitAsync(timeoutMs, cancellationToken);

    /// <summary>Gives the gate back.</summary>
    public void Release() => _gate.Release();

    public void Dispose() => _gate.Dispose();
}

/// <summary>What the backup handlers need.</summary>
public sealed class BackupServices
{
    public required HttpContext Context { get; init; }

    [FromServices]
    public required BackupService Backups { get; init; }

    [FromServices]
    public required BackupRestorer Restorer { get; init; }

    [FromServices]
    public required TaskScheduleSync Schedules { get; init; }

    [FromServices]
    public required BackupOptions Options { get; init; }

    [FromServices]
    public required BackupGate Gate { get; init; }

    [FromServices]
    public required IAuditLog Audit { get; init; }

    [FromServices]
    public required TimeProvider Time { get; init; }

    [FromServices]
    public required ILogger<BackupService> Logger { get; init; }

    public CancellationToken Aborted => Context.RequestAborted;

    /// <summary>The caller's key name.</summary>
    public string Who => NamespaceAccess.KeyNameOf(Context.User) ?? "anonymous";

    /// <summary>The caller's address.</summary>
    public string ClientIp => Context.Connection.RemoteIpAddress?.ToString() ?? "";
}

public static partial class BackupFunctions
{
    /// <summary>The JSON form of <c>POST /api/system/restore</c>.</summary>
    public sealed record RestoreRequest(string? BackupId);

    /// <summary>A backup as listed.</summary>
    public sealed record BackupView(string Id, DateTimeOffset CreatedAt, long Size, int Tables, long Rows, int Files, bool Consistent)
    {
        public static BackupView From(BackupInfo info)
        {
            ArgumentNullException.ThrowIfNull(info);
            return new(info.Id, info.CreatedAt, info.Size, info.Tables, info.Rows, info.Files, info.Consistent);
        }
    }

    /// <summary>Rows of one table in a backup.</summary>
    public sealed record TableCount(string Name, long Rows);

    /// <summary>A restored table: rows written and rows deleted.</summary>
    public sealed record RestoredTableView(string Name, long Rows, long Deleted);

    public sealed record BackupCreatedResponse(string Message, BackupView Backup, int Attempts, IReadOnlyList<string> ChangedTables, IReadOnlyList<TableCount> Tables)
    {
        [JsonPropertyOrder(-1)]
        public bool Success => true;
    }

    public sealed record BackupListResponse(IReadOnlyList<BackupView> Backups, int Total)
    {
        [JsonPropertyOrder(-1)]
        public bool Success => true;
    }

    public sealed record BackupDeletedResponse(string Message, string Id)
    {
        [JsonPropertyOrder(-1)]
        public bool Success => true;
    }

    public sealed record RestoreResponse(
        string Message,
        string BackupId,
        DateTimeOffset CreatedAt,
        IReadOnlyList<RestoredTableView> Tables,
        int Files,
        int SchedulesStarted,
        int SchedulesEnded)
    {
        [JsonPropertyOrder(-1)]
        public bool Success => true;
    }
}

/// <summary>Backup log messages, EventIds 1900-1919.</summary>
internal static partial class BackupLog
{
    [LoggerMessage(EventId = 1900, Level = LogLevel.Information, Message = "Backup {BackupId} written: {Tables} tables, {Rows} rows, {Files} files, consistent {Consistent} after {Attempts} attempt(s)")]
    public static partial void BackupCreated(this ILogger logger, string backupId, int tables, long rows, int files, bool consistent, int attempts);

    [LoggerMessage(EventId = 1901, Level = LogLevel.Warning, Message = "Restore of {Source} refused: {Reason}")]
    public static partial void RestoreRefused(this ILogger logger, string source, string reason);

    [LoggerMessage(EventId = 1903, Level = LogLevel.Error, Message = "Restore of {Source} failed after verification")]
    public static partial void RestoreFailed(this ILogger logger, Exception exception, string source);

    [LoggerMessage(EventId = 1902, Level = LogLevel.Information, Message = "Backup {BackupId} restored: {Tables} tables, {Files} files; {SchedulesStarted} schedules started, {SchedulesEnded} ended")]
    public static partial void Restored(this ILogger logger, string backupId, int tables, int files, int schedulesStarted, int schedulesEnded);
}
