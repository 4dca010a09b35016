using EnvFabric.Core.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EnvFabric.Core.Runner;

/// <summary>Registration of the runner contract's client side (dispatch, control, registry) for the host.</summary>
public static class RunnerClientExtensions
{
    /// <summary>
    /// Registers <see cref="IRunnerJobQueue"/>, <see cref="IRunnerControl"/>, <see cref="IRunnerRegistry"/> and
    /// <see cref="RunnerJobTable"/>. Needs a <see cref="StorageAccount"/> and the options in the container.
    /// </summary>
    public static IServiceCollection AddRunnerClient(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StorageNames>();
        services.TryAddSingleton<IRunnerJobQueue, AzureRunnerJobQueue>();
        services.TryAddSingleton<RunnerJobTable>();
        services.TryAddSingleton<IRunnerControl, RunnerControl>();
        services.TryAddSingleton<IRunnerRegistry, TableRunnerRegistry>();
        return services;
    }

    /// <summary>Adds the <c>runner</c> health check (<see cref="RunnerHealthCheck"/>); call <see cref="AddRunnerClient"/> too.</summary>
    public static IHealthChecksBuilder AddRunnerCheck(this IHealthChecksBuilder builder, string name = "runner", HealthStatus failureStatus = HealthStatus.Unhealthy)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRunnerClient();
        return builder.AddCheck<RunnerHealthCheck>(name, failureStatus);
    }
}
