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
/// Seed 001's <c>init_db()</c> + <c>SELECT 1</c>: at start the environment tables, the runner's job table and
/// queue and the logs container are created or verified, then env_info files missing from the table are
/// imported (seed 000's start-up load). Unreachable storage stops the host with a clear message.
/// </summary>
internal sealed class EnvironmentStartup(
    IEnvironmentRepository environments,
    IEnvironmentLock locks,
    IAuditLog audit,
    RunnerJobTable jobs,
    EnvInfoImporter importer,
    StorageAccount storage,
    StorageNames names,
    DataPaths paths,
    ILogger<EnvironmentStartup> logger) : IHostedService
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Bound);
        try
        {
            await environments.EnsureCreatedAsync(bounded.Token);
            await locks.EnsureCreatedAsync(bounded.Token);
            await audit.EnsureCreatedAsync(bounded.Token);
            await jobs.EnsureCreatedAsync(bounded.Token);
            await storage.Queues.GetQueueClient(RunnerStorage.JobQueue(names)).CreateIfNotExistsAsync(cancellationToken: bounded.Token);
            await storage.Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(names)).CreateIfNotExistsAsync(cancellationToken: bounded.Token);
            await storage.Blobs.GetBlobContainerClient(RunnerStorage.PayloadsContainer(names)).CreateIfNotExistsAsync(cancellationToken: bounded.Token);
        }
        catch (Exception ex) when (ex is RequestFailedException or OperationCanceledException or AggregateException or HttpRequestException)
        {
            throw new InvalidOperationException(
                $"Storage at {storage.Description} is unreachable or refused the environment tables, queues and containers " +
                $"({ex.GetType().Name}: {ex.Message}). Check {StorageAccount.SettingName} (Azurite running locally?).", ex);
        }

        Directory.CreateDirectory(paths.Envs);
        var imported = await importer.ImportMissingAsync(paths.Envs, cancellationToken);
        logger.EnvironmentsReady(imported.Count);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
