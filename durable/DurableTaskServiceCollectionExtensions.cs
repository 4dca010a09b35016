using DurableTask.AzureStorage;
using EnvFabric.Durable.Client;
using EnvFabric.Durable.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EnvFabric.Durable;

/// <summary>Registers orchestrators and activities by name. Every call adds to the same registry.</summary>
public interface IDurableTaskBuilder
{
    /// <summary>The service collection registrations go to.</summary>
    IServiceCollection Services { get; }

    /// <summary>Registers an orchestrator under <paramref name="name"/>, by default its class name.</summary>
    IDurableTaskBuilder AddOrchestrator<TOrchestrator>(string? name = null) where TOrchestrator : class, ITaskOrchestrator;

    /// <summary>Registers an activity under <paramref name="name"/>, by default its class name.</summary>
    IDurableTaskBuilder AddActivity<TActivity>(string? name = null) where TActivity : class, ITaskActivity;
}

/// <summary>DI registration of the durable engine: DTFx's Azure Storage provider under Microsoft.DurableTask.</summary>
public static class DurableTaskServiceCollectionExtensions
{
    /// <summary>
    /// Registers the client and the worker (a hosted service running DTFx's <c>TaskHubWorker</c>).
    /// <paramref name="configure"/> sets options (the storage account at least; it may also be set with
    /// <c>services.AddOptions&lt;DurableTaskOptions&gt;().Configure&lt;TDep&gt;(...)</c>); <paramref name="registry"/>
    /// registers orchestrators and activities. Other components add theirs through <see cref="AddDurableTaskRegistrations"/>.
    /// </summary>
    public static IDurableTaskBuilder AddDurableTask(this IServiceCollection services, Action<DurableTaskOptions>? configure = null, Action<IDurableTaskBuilder>? registry = null)
    {
        var builder = services.AddDurableTaskClient(configure);
        services.TryAddSingleton<TaskRegistry>();
        if (!services.Any(d => d.ServiceType == typeof(DurableWorker)))
        {
            services.AddSingleton<DurableWorker>();
            services.AddHostedService(sp => sp.GetRequiredService<DurableWorker>());
            services.AddSingleton<IDurableWorkerStatus>(sp => sp.GetRequiredService<DurableWorker>());
        }

        registry?.Invoke(builder);
        return builder;
    }

    /// <summary>
    /// Registers only the client: for a process that starts instances or raises events but runs no worker.
    /// </summary>
    public static IDurableTaskBuilder AddDurableTaskClient(this IServiceCollection services, Action<DurableTaskOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<DurableTaskOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DurableTaskOptions>, DurableTaskOptionsValidator>());
        // DTFx logs every message at Information; keep its warnings and errors by default. A logging rule for a
        // longer category (e.g. "DurableTask.AzureStorage": "Information" in host.json) still wins over this one.
        services.Configure<LoggerFilterOptions>(o => o.Rules.Insert(0, new LoggerFilterRule(null, "DurableTask", LogLevel.Warning, null)));
        services.TryAddSingleton(sp => new AzureStorageOrchestrationService(
            sp.GetRequiredService<IOptions<DurableTaskOptions>>().Value.ToProviderSettings(sp.GetRequiredService<ILoggerFactory>())));
        services.TryAddSingleton<AzureStorageDurableTaskClient>();
        services.TryAddSingleton<DurableTaskClient>(sp => sp.GetRequiredService<AzureStorageDurableTaskClient>());
        return new DurableTaskBuilder(services);
    }

    /// <summary>A builder that adds orchestrators and activities to the registry, wherever it is called from.</summary>
    public static IDurableTaskBuilder AddDurableTaskRegistrations(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return new DurableTaskBuilder(services);
    }

    private sealed class DurableTaskBuilder(IServiceCollection services) : IDurableTaskBuilder
    {
        public IServiceCollection Services { get; } = services;

        public IDurableTaskBuilder AddOrchestrator<TOrchestrator>(string? name = null) where TOrchestrator : class, ITaskOrchestrator
        {
            Services.AddSingleton(new TaskRegistration(TaskKind.Orchestrator, name ?? typeof(TOrchestrator).Name, typeof(TOrchestrator)));
            return this;
        }

        public IDurableTaskBuilder AddActivity<TActivity>(string? name = null) where TActivity : class, ITaskActivity
        {
            Services.AddSingleton(new TaskRegistration(TaskKind.Activity, name ?? typeof(TActivity).Name, typeof(TActivity)));
            return this;
        }
    }
}

/// <summary>Fails option resolution with the first problem, named.</summary>
internal sealed class DurableTaskOptionsValidator : IValidateOptions<DurableTaskOptions>
{
    public ValidateOptionsResult Validate(string? name, DurableTaskOptions options) =>
        options.Validate() is { } problem ? ValidateOptionsResult.Fail("Durable task options: " + problem) : ValidateOptionsResult.Success;
}

internal enum TaskKind
{
    Orchestrator,
    Activity,
}

/// <summary>One orchestrator or activity registration; several may come from different components.</summary>
internal sealed record TaskRegistration(TaskKind Kind, string Name, Type Type);

/// <summary>Names to types, built from every <see cref="TaskRegistration"/>.</summary>
internal sealed class TaskRegistry
{
    public TaskRegistry(IEnumerable<TaskRegistration> registrations)
    {
        var orchestrators = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase);
        var activities = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase);
        foreach (var registration in registrations)
        {
            var map = registration.Kind == TaskKind.Orchestrator ? orchestrators : activities;
            if (map.TryGetValue(registration.Name, out var existing) && existing != registration.Type)
            {
                throw new InvalidOperationException($"The {registration.Kind} name '{registration.Name}' is registered for both {existing.FullName} and {registration.Type.FullName}.");
            }

            map[registration.Name] = registration.Type;
        }

        Orchestrators = orchestrators;
        Activities = activities;
    }

    public IReadOnlyDictionary<string, Type> Orchestrators { get; }

    public IReadOnlyDictionary<string, Type> Activities { get; }
}
