using Azure;
using Azure.Storage.Blobs.Specialized;
using Cronos;
using EnvFabric.Activities.Environments;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;
using EnvFabric.Orchestrations.Environments;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions.Timers;

/// <summary>
/// Seed 001's idle cleanup as a timer function: on <c>ENV_CLEANUP_SCHEDULE</c> (cron, UTC), environments
/// unused for <c>CLEANUP_IDLE_HOURS</c> are deleted through <c>EnvBuild</c> cleanup orchestrations (locked
/// and audited as <c>cleanup</c>), never one a task references. Off when the hours are 0. A blob lease makes
/// it a singleton across hosts, as Functions' timer trigger is.
/// </summary>
public sealed class EnvironmentCleanupTimer(
    IEnvironmentRepository environments,
    ITaskReferences tasks,
    EnvBuildStarter builds,
    StorageAccount storage,
    StorageNames names,
    DataPaths paths,
    IOptions<EnvFabricOptions> settings,
    IOptions<EnvironmentsOptions> options,
    IServiceProvider services,
    ILogger<EnvironmentCleanupTimer> logger) : BackgroundService
{
    /// <summary>Key of an optional <see cref="TimeProvider"/> just for this timer (tests drive it with a fake clock).</summary>
    public const string ClockKey = "environment-cleanup";

    private const string LeaseBlob = "environment-cleanup";

    private readonly TimeProvider _time = services.GetKeyedService<TimeProvider>(ClockKey) ?? services.GetRequiredService<TimeProvider>();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.Value.CleanupIdleHours == 0)
        {
            logger.CleanupOff();
            return;
        }

        var schedule = CronExpression.Parse(options.Value.CleanupSchedule);
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = _time.GetUtcNow();
            var next = schedule.GetNextOccurrence(now.UtcDateTime, TimeZoneInfo.Utc);
            if (next is null)
            {
                return;
            }

            await Task.Delay(next.Value - now.UtcDateTime, _time, stoppingToken);
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is RequestFailedException or InvalidOperationException or IOException)
            {
                logger.CleanupFailed(ex);
            }
        }
    }

    /// <summary>One cleanup pass under the singleton lease; the environments whose cleanup started.</summary>
    public async Task<IReadOnlyList<string>> RunOnceAsync(CancellationToken cancellationToken = default)
    {
        var hours = settings.Value.CleanupIdleHours;
        if (hours == 0)
        {
            return [];
        }

        var container = storage.Blobs.GetBlobContainerClient(names.Container("locks"));
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var blob = container.GetBlobClient(LeaseBlob);
        if (!await blob.ExistsAsync(cancellationToken))
        {
            try
            {
                await blob.UploadAsync(BinaryData.FromString(""), overwrite: false, cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // Another host created it first.
            }
        }

        var lease = blob.GetBlobLeaseClient();
        try
        {
            await lease.AcquireAsync(TimeSpan.FromSeconds(60), cancellationToken: cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            logger.CleanupLeaseHeld();
            return [];
        }

        try
        {
            return await CleanupIdleAsync(TimeSpan.FromHours(hours), cancellationToken);
        }
        finally
        {
            await lease.ReleaseAsync(cancellationToken: CancellationToken.None);
        }
    }

    private async Task<IReadOnlyList<string>> CleanupIdleAsync(TimeSpan idle, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var referenced = await tasks.CountAllAsync(cancellationToken);
        var started = new List<string>();
        await foreach (var summary in environments.ListSummariesAsync(cancellationToken))
        {
            if (summary.LastUsedAt > now - idle || summary.Status is EnvironmentStatus.Creating or EnvironmentStatus.Deleting)
            {
                continue;
            }

            if (referenced.TryGetValue(summary.Name, out var count) && count > 0)
            {
                logger.CleanupSkipped(summary.Name, "tasks reference it");
                continue;
            }

            var record = await environments.GetAsync(summary.Name, cancellationToken);
            if (record is null)
            {
                continue;
            }

            var input = new EnvBuildInput
            {
                Operation = EnvOperations.Cleanup,
                Environment = record.Name,
                Directory = record.Path.Length > 0 ? record.Path : Path.Combine(paths.Envs, record.Name),
                Backend = record.Backend,
                Who = "system",
                InputsJson = $"{{\"idle_hours\":{idle.TotalHours},\"last_used_at\":\"{record.LastUsedAt:O}\"}}",
                RequestedAt = now,
                BuildTimeoutSeconds = options.Value.BuildTimeoutSeconds,
                StaleAfterSeconds = options.Value.RunnerStaleSeconds,
                PickupTimeoutSeconds = options.Value.PickupTimeoutSeconds,
            };
            var outcome = await builds.StartAsync(input, cancellationToken: cancellationToken);
            if (outcome.Status == StartStatus.Started)
            {
                logger.CleanupStarted(record.Name, record.LastUsedAt, outcome.InstanceId!);
                started.Add(record.Name);
            }
            else
            {
                logger.CleanupSkipped(record.Name, "another operation holds its lock");
            }
        }

        return started;
    }
}
