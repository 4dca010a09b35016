using Azure;
using Azure.Storage.Files.Shares;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Share;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;
using EnvFabric.Durable;
using EnvFabric.Functions.Timers;
using EnvFabric.Orchestrations.Environments;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EnvFabric.Functions.Extensions;

/// <summary>Registration of the environment API: repositories, share, audit, builds, start-up check and cleanup timer.</summary>
public static class EnvironmentExtensions
{
    /// <summary>Setting naming an Azure Files share to hold env_info (else the local DATA_ROOT directory is used).</summary>
    public const string ShareNameSetting = "ENVFABRIC_FILE_SHARE";

    public static WebApplicationBuilder AddEnvironments(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddOptions<EnvironmentsOptions>()
            .Configure(o => EnvironmentsOptions.Bind(configuration, o))
            .ValidateDataAnnotations()
            .Validate(o => IsCron(o.CleanupSchedule), "ENV_CLEANUP_SCHEDULE must be a five-field cron expression")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StorageNames>();
        services.AddRunnerClient();
        services.TryAddSingleton<IEnvironmentRepository, TableEnvironmentRepository>();
        services.TryAddSingleton<IEnvironmentLock, TableEnvironmentLock>();
        services.TryAddSingleton<IAuditLog, TableAuditLog>();
        services.TryAddSingleton<ITaskReferences, TableTaskReferences>();
        services.TryAddSingleton<ITaskRepository, TableTaskRepository>();
        services.TryAddSingleton<IShareStore>(sp =>
        {
            var shareName = configuration[ShareNameSetting];
            if (string.IsNullOrEmpty(shareName))
            {
                return new LocalShareStore(sp.GetRequiredService<DataPaths>().DataRoot);
            }

            var connection = configuration[StorageAccount.SettingName]
                ?? throw new InvalidOperationException($"{ShareNameSetting} needs {StorageAccount.SettingName} as a connection string to reach Azure Files");
            return new AzureFilesShareStore(new ShareClient(connection, shareName));
        });
        services.TryAddSingleton<EnvInfoStore>();
        services.TryAddSingleton<EnvInfoImporter>();
        services.TryAddSingleton<RunnerCapabilitiesView>();
        services.TryAddSingleton<EnvBuildStarter>();
        services.AddDurableTaskRegistrations().AddEnvironmentOrchestrations();
        services.TryAddSingleton<EnvironmentReadiness>();
        services.AddHostedService<EnvironmentStartup>();
        services.TryAddSingleton<EnvironmentCleanupTimer>();
        services.AddHostedService(sp => sp.GetRequiredService<EnvironmentCleanupTimer>());
        return builder;
    }

    private static bool IsCron(string expression)
    {
        try
        {
            Cronos.CronExpression.Parse(expression);
            return true;
        }
        catch (Cronos.CronFormatException)
        {
            return false;
        }
    }
}

/// <summary>
/// Whether the environment storage passed the start-up check. Environment endpoints wait for it (a filter on
/// their groups), so no request races table creation; when the check failed they answer 503 with its reason.
/// </summary>
public sealed class EnvironmentReadiness
{
    private readonly TaskCompletionSource<string?> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Null when ready, else why the environment API is unavailable.</summary>
    public Task<string?> WaitAsync(CancellationToken cancellationToken) => _ready.Task.WaitAsync(cancellationToken);

    internal void Succeeded() => _ready.TrySetResult(null);

    internal void Failed(string reason) => _ready.TrySetResult(reason);

    /// <summary>An endpoint filter holding requests until the check is done; 503 in the path's dialect when it failed.</summary>
    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var reason = await http.RequestServices.GetRequiredService<EnvironmentReadiness>().WaitAsync(http.RequestAborted);
        return reason is null
            ? await next(context)
            : Http.ErrorBodies.ForPath(http.Request.Path, StatusCodes.Status503ServiceUnavailable, "Environment storage is unavailable", reason);
    }
}

/// <summary>
/// Seed 001's <c>init_db()</c> + <c>SELECT 1</c>: at start the environment tables, the runner's job table and
/// queue and the logs container are created or verified, then env_info files missing from the table are
/// imported (seed 000's start-up load). Unreachable storage stops the host with a clear message. The check
/// runs beside start-up rather than inside it, so /api/health can still report what is down meanwhile.
/// </summary>
internal sealed class EnvironmentStartup(
    IEnvironmentRepository environments,
    ITaskRepository tasks,
    IEnvironmentLock locks,
    IAuditLog audit,
    RunnerJobTable jobs,
    EnvInfoImporter importer,
    StorageAccount storage,
    StorageNames names,
    DataPaths paths,
    EnvironmentReadiness readiness,
    IHostApplicationLifetime lifetime,
    ILogger<EnvironmentStartup> logger) : BackgroundService
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private async Task EnsureStorageAsync(CancellationToken cancellationToken)
    {
        await environments.EnsureCreatedAsync(cancellationToken);
        await tasks.EnsureCreatedAsync(cancellationToken);
        await locks.EnsureCreatedAsync(cancellationToken);
        await audit.EnsureCreatedAsync(cancellationToken);
        await jobs.EnsureCreatedAsync(cancellationToken);
        await storage.Queues.GetQueueClient(RunnerStorage.JobQueue(names)).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await storage.Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(names)).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await storage.Blobs.GetBlobContainerClient(RunnerStorage.PayloadsContainer(names)).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Storage gets a grace period (it may start after the host, as Azurite often does); then the host stops.
        var deadline = DateTime.UtcNow + Bound;
        while (true)
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            bounded.CancelAfter(Bound);
            try
            {
                await EnsureStorageAsync(bounded.Token);
                break;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is RequestFailedException or OperationCanceledException or AggregateException or HttpRequestException)
            {
                if (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
                    continue;
                }

                var reason = $"Storage at {storage.Description} is unreachable or refused the environment tables, queues and containers " +
                    $"for {Bound.TotalSeconds:0} s ({ex.GetType().Name}: {ex.Message}). Check {StorageAccount.SettingName} (is Azurite running?).";
                readiness.Failed(reason);
                logger.EnvironmentStorageUnreachable(ex, reason);
                Environment.ExitCode = 1;
                lifetime.StopApplication();
                return;
            }
        }

        Directory.CreateDirectory(paths.Envs);
        var imported = await importer.ImportMissingAsync(paths.Envs, stoppingToken);
        readiness.Succeeded();
        logger.EnvironmentsReady(imported.Count);
    }
}
