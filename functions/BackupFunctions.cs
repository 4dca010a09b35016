using System.Diagnostics;
using System.Text.Json;
using Azure;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Backup;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;
using EnvFabric.Orchestrations.Tasks;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace EnvFabric.Functions;

/// <summary>
/// Backup and restore, admin only, under <c>/api/system</c>: take a backup (and download it), list, download and
/// delete backups, restore one (stored, by id, or uploaded). Each mutation is audited as <c>system.backup</c>,
/// <c>system.backup.delete</c> or <c>system.restore</c>.
/// </summary>
public static partial class BackupFunctions
{
    private static readonly JsonSerializerOptions AuditJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static RouteGroupBuilder MapBackupFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/api/system").WithTags("Backup").RequireAuthorization(AuthPolicies.Admin);
        group.MapPost("/backup", CreateBackup)
            .Produces<BackupCreatedResponse>()
            .Produces(StatusCodes.Status200OK, contentType: "application/zip")
            .Produces<CondaError>(StatusCodes.Status409Conflict)
            .WithName("CreateBackup")
            .WithSummary("Backs up every service table (not the durable hub's or runtime state), the env_info files, task scripts, projects and key ring into one ZIP in the backups container; ?download=true answers with the archive.")
            .DisableRequestTimeout();
        group.MapGet("/backups", ListBackups)
            .WithName("ListBackups")
            .WithSummary("The stored backups, newest first: id, created_at, size and counts.");
        group.MapGet("/backups/{id}", DownloadBackup)
            .Produces(StatusCodes.Status200OK, contentType: "application/zip")
            .Produces<CondaError>(StatusCodes.Status404NotFound)
            .WithName("DownloadBackup")
            .WithSummary("Downloads one stored backup archive.")
            .DisableRequestTimeout();
        group.MapDelete("/backups/{id}", DeleteBackup)
            .Produces<CondaError>(StatusCodes.Status404NotFound)
            .WithName("DeleteBackup")
            .WithSummary("Deletes one stored backup.");
        group.MapPost("/restore", Restore)
            .Accepts<RestoreRequest>("application/json", "multipart/form-data")
            .Produces<RestoreResponse>()
            .Produces<CondaError>(StatusCodes.Status400BadRequest)
            .Produces<CondaError>(StatusCodes.Status404NotFound)
            .Produces<CondaError>(StatusCodes.Status409Conflict)
            .Produces<CondaError>(StatusCodes.Status413PayloadTooLarge)
            .Produces<CondaError>(StatusCodes.Status422UnprocessableEntity)
            .WithName("RestoreBackup")
            .WithSummary("Restores a backup ({\"backup_id\": ...} or the archive in the multipart field 'file') after verifying its manifest, version, sizes and SHA-256 sums; re-creates the schedules of restored tasks.")
            .DisableAntiforgery()
            .DisableRequestTimeout();
        return group;
    }

    public static async Task<IResult> CreateBackup(bool? download, [AsParameters] BackupServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (!await s.Gate.WaitAsync(0, s.Aborted))
        {
            return Busy();
        }

        var clock = Stopwatch.StartNew();
        CreatedBackup created;
        try
        {
            created = await s.Backups.CreateAsync(s.Aborted);
        }
        finally
        {
            s.Gate.Release();
        }

        var manifest = created.Manifest;
        s.Logger.BackupCreated(created.Info.Id, manifest.Totals.Tables, manifest.Totals.Rows, manifest.Totals.Files, manifest.Consistent, manifest.Attempts);
        await AuditAsync(s, "system.backup", created.Info.Id, "succeeded", clock, new
        {
            backup_id = created.Info.Id,
            tables = manifest.Totals.Tables,
            rows = manifest.Totals.Rows,
            files = manifest.Totals.Files,
            size = created.Info.Size,
            consistent = manifest.Consistent,
            attempts = manifest.Attempts,
            download = download == true,
        });

        if (download == true)
        {
            // The local copy is the blob's content; it is removed once the response has been sent.
            var stream = new FileStream(created.ArchivePath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81_920, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
            return TypedResults.File(stream, "application/zip", created.Info.Id + ".zip");
        }

        File.Delete(created.ArchivePath);
        return TypedResults.Ok(new BackupCreatedResponse(
            "Backup created",
            BackupView.From(created.Info),
            manifest.Attempts,
            manifest.ChangedTables,
            manifest.Tables.Select(t => new TableCount(t.Name, t.Rows)).ToList()));
    }

    public static async Task<IResult> ListBackups([AsParameters] BackupServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var list = await s.Backups.ListAsync(s.Aborted);
        return TypedResults.Ok(new BackupListResponse(list.Select(BackupView.From).ToList(), list.Count));
    }

    public static async Task<IResult> DownloadBackup(string id, [AsParameters] BackupServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (!BackupService.IsValidId(id))
        {
            return InvalidId(id);
        }

        return await s.Backups.OpenReadAsync(id, s.Aborted) is { } stream
            ? TypedResults.File(stream, "application/zip", id + ".zip")
            : NotFound(id);
    }

    public static async Task<IResult> DeleteBackup(string id, [AsParameters] BackupServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (!BackupService.IsValidId(id))
        {
            return InvalidId(id);
        }

        var clock = Stopwatch.StartNew();
        if (!await s.Backups.DeleteAsync(id, s.Aborted))
        {
            return NotFound(id);
        }

        await AuditAsync(s, "system.backup.delete", id, "succeeded", clock, new { backup_id = id });
        return TypedResults.Ok(new BackupDeletedResponse($"Backup '{id}' deleted", id));
    }

    public static async Task<IResult> Restore([AsParameters] BackupServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var clock = Stopwatch.StartNew();
        var archive = Path.Combine(Path.GetTempPath(), $"envfabric-restore-{Guid.NewGuid():N}.zip");
        try
        {
            var (source, error) = await ReceiveAsync(s, archive);
            if (error is not null)
            {
                return error;
            }

            if (!await s.Gate.WaitAsync(0, s.Aborted))
            {
                return Busy();
            }

            RestoreResult result;
            ScheduleSyncResult schedules;
            try
            {
                try
                {
                    result = await s.Restorer.RestoreAsync(archive, s.Aborted);
                }
                catch (BackupRejectedException ex)
                {
                    s.Logger.RestoreRefused(source, ex.Message);
                    await AuditAsync(s, "system.restore", source, "failed", clock, new { source }, ex.Message);
                    return ErrorBodies.Conda(StatusCodes.Status422UnprocessableEntity, "Backup refused", ex.Message);
                }
                catch (Exception ex) when (ex is RequestFailedException or IOException or UnauthorizedAccessException)
                {
                    // Verified, then failed while writing: some tables or files may be restored already.
                    s.Logger.RestoreFailed(ex, source);
                    await AuditAsync(s, "system.restore", source, "failed", clock, new { source }, ex.Message);
                    return ErrorBodies.Conda(StatusCodes.Status500InternalServerError, "Restore failed", $"The archive was verified but writing it failed, so the restore may be partial; run it again: {ex.Message}");
                }

                try
                {
                    schedules = await s.Schedules.SyncAsync(s.Aborted);
                }
                catch (Exception ex) when (ex is RequestFailedException or InvalidOperationException)
                {
                    s.Logger.RestoreFailed(ex, source);
                    await AuditAsync(s, "system.restore", result.BackupId, "failed", clock, new { source, tables = result.Tables.Count, files = result.Files }, ex.Message);
                    return ErrorBodies.Conda(StatusCodes.Status500InternalServerError, "Schedules not re-created", $"Backup '{result.BackupId}' was restored, but re-creating the task schedules failed; run the restore again: {ex.Message}");
                }
            }
            finally
            {
                s.Gate.Release();
            }

            s.Logger.Restored(result.BackupId, result.Tables.Count, result.Files, schedules.Ensured, schedules.Ended);

            // Written after the restore, which replaced the audit table with the archive's.
            await AuditAsync(s, "system.restore", result.BackupId, "succeeded", clock, new
            {
                backup_id = result.BackupId,
                source,
                tables = result.Tables.Select(t => new { t.Name, t.Rows, t.Deleted }),
                files = result.Files,
                schedules_started = schedules.Ensured,
                schedules_ended = schedules.Ended,
            });
            return TypedResults.Ok(new RestoreResponse(
                $"Backup '{result.BackupId}' restored",
                result.BackupId,
                result.CreatedAt,
                result.Tables.Select(t => new RestoredTableView(t.Name, t.Rows, t.Deleted)).ToList(),
                result.Files,
                schedules.Ensured,
                schedules.Ended));
        }
        finally
        {
            File.Delete(archive);
        }
    }

    /// <summary>Puts the archive to restore into <paramref name="archive"/>: a stored backup by id, or the upload.</summary>
    private static async Task<(string Source, IResult? Error)> ReceiveAsync(BackupServices s, string archive)
    {
        var request = s.Context.Request;
        var limit = s.Options.MaxArchiveBytes;
        if (request.HasFormContentType)
        {
            if (s.Context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
            {
                sizeLimit.MaxRequestBodySize = limit + 1024 * 1024;
            }

            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = limit + 1024 * 1024 }, s.Aborted);
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or BadHttpRequestException)
            {
                return ("upload", ErrorBodies.Conda(StatusCodes.Status413PayloadTooLarge, "Failed to process uploaded file", $"The upload could not be read or is larger than {limit / (1024 * 1024)} MB (BACKUP_MAX_MB): {ex.Message}"));
            }

            if (form.Files.GetFile("file") is not { } file)
            {
                return ("upload", ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid restore request", "The multipart form needs the archive in the field 'file'"));
            }

            if (file.Length > limit)
            {
                return ("upload", ErrorBodies.Conda(StatusCodes.Status413PayloadTooLarge, "Backup too large", $"The archive has {file.Length} bytes, more than {limit / (1024 * 1024)} MB (BACKUP_MAX_MB)"));
            }

            await using var input = file.OpenReadStream();
            await using var output = new FileStream(archive, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81_920, FileOptions.Asynchronous);
            await input.CopyToAsync(output, s.Aborted);
            return ("upload", null);
        }

        RestoreRequest? body;
        try
        {
            body = await request.ReadFromJsonAsync<RestoreRequest>(s.Aborted);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return ("?", ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid restore request", "Send JSON {\"backup_id\": \"...\"} or a multipart form with the archive in the field 'file'"));
        }

        var id = body?.BackupId;
        if (!BackupService.IsValidId(id))
        {
            return (id ?? "?", InvalidId(id));
        }

        return await s.Backups.DownloadToAsync(id!, archive, s.Aborted) ? (id!, null) : (id!, NotFound(id!));
    }

    private static JsonHttpResult<CondaError> Busy() =>
        ErrorBodies.Conda(StatusCodes.Status409Conflict, "Backup or restore in progress", "Another backup or restore is running on this host; try again when it has finished");

    private static JsonHttpResult<CondaError> InvalidId(string? id) =>
        ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid backup id", $"A backup id looks like 20260101T120000Z-1a2b3c (was '{id}')");

    private static JsonHttpResult<CondaError> NotFound(string id) =>
        ErrorBodies.Conda(StatusCodes.Status404NotFound, $"Backup '{id}' not found", "There is no stored backup by that id; GET /api/system/backups lists them");

    private static async Task AuditAsync(BackupServices s, string operation, string id, string outcome, Stopwatch clock, object inputs, string? error = null)
    {
        try
        {
            await s.Audit.WriteAsync(
                new AuditRecord
                {
                    Id = $"system-{Guid.NewGuid():N}",
                    At = s.Time.GetUtcNow(),
                    Operation = operation,
                    Environment = "",
                    Who = s.Who,
                    ClientIp = s.ClientIp,
                    Inputs = JsonSerializer.Serialize(inputs, AuditJson),
                    Outcome = outcome,
                    DurationMs = clock.ElapsedMilliseconds,
                    Error = error,
                    OperationId = id,
                },
                CancellationToken.None);
        }
        catch (AuditWriteException)
        {
            // The change itself is made; the audit outage shows in the health check.
        }
    }
}
