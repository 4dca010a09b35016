using EnvFabric.Activities.Tasks;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Tasks;
using EnvFabric.Durable;
using EnvFabric.Functions.Timers;
using EnvFabric.Orchestrations.Tasks;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EnvFabric.Functions.Extensions;

/// <summary>Registration of the tasks API: repositories, concurrency slots, orchestrations, callbacks, stats and retention (the sampler behind the stats is the system monitor's).</summary>
public static class TaskExtensions
{
    public static WebApplicationBuilder AddTasks(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ITaskRepository, TableTaskRepository>();
        services.TryAddSingleton<Core.Projects.IProjectRepository, Core.Projects.TableProjectRepository>();
        services.TryAddSingleton<TaskSlots>();
        services.TryAddSingleton<TaskStarter>();
        services.TryAddSingleton<Tasks.TaskCreation>();
        services.TryAddSingleton<TaskRunRepair>();
        services.TryAddSingleton<Core.Monitoring.SystemSampleStore>();
        services.TryAddSingleton<TaskStats>();
        services.TryAddSingleton(_ => ReadOptions(configuration));
        services.TryAddSingleton(sp => sp.GetRequiredService<TaskOptions>().Callbacks);
        services.TryAddSingleton<CallbackHttp>();
        services.TryAddSingleton<CallbackSecrets>();
        services.TryAddSingleton<ICallbackSigner>(sp => sp.GetRequiredService<CallbackSecrets>());
        services.AddDurableTaskRegistrations().AddTaskOrchestrations();
        services.AddHostedService<ExecutionRetentionTimer>();
        return builder;
    }

    /// <summary>The TASK_* settings; a wrong value stops the host with one line naming it.</summary>
    public static TaskOptions ReadOptions(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        int Read(string name, int fallback, int min, int max) => SettingValue.ReadInt(configuration, name, fallback, min, max);

        bool Flag(string name, bool fallback) => SettingValue.ReadBool(configuration, name, fallback);

        var upload = Read("TASK_MAX_UPLOAD_MB", 50, 1, 4096);
        return new TaskOptions
        {
            Upload = new UploadLimits(
                MaxUploadBytes: upload * 1024L * 1024,
                MaxExtractedBytes: Read("TASK_MAX_EXTRACTED_MB", 200, 1, 65_536) * 1024L * 1024,
                MaxEntries: Read("TASK_MAX_ZIP_ENTRIES", 10_000, 1, 1_000_000)),
            HistoryDays = Read("TASK_HISTORY_DAYS", 30, 1, 3650),
            Callbacks = new CallbackOptions
            {
                MaxAttempts = Read("CALLBACK_MAX_ATTEMPTS", 5, 1, 50),
                RetrySeconds = Read("CALLBACK_RETRY_SECONDS", 10, 1, 3600),
                TimeoutSeconds = Read("CALLBACK_TIMEOUT_SECONDS", 10, 1, 300),
                Policy = new CallbackAddressPolicy(Flag("CALLBACK_ALLOW_PRIVATE", false), Flag("CALLBACK_ALLOW_LOOPBACK", true)),
            },
        };
    }
}
