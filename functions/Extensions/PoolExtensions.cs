using EnvFabric.Core.Configuration;
using EnvFabric.Core.Pools;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions.Extensions;

/// <summary>Registration of the pool configuration: <c>{DATA_ROOT}/pools.json</c>, its reload and the deployment's generation row.</summary>
public static class PoolExtensions
{
    public static WebApplicationBuilder AddPools(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IPoolGenerationStore, TablePoolGenerationStore>();
        services.TryAddSingleton(sp => new FilePoolConfiguration(
            Path.Combine(sp.GetRequiredService<DataPaths>().DataRoot, PoolFile.FileName),
            sp.GetRequiredService<IOptions<EnvFabricOptions>>().Value.MaxConcurrentTasks,
            sp.GetRequiredService<IPoolGenerationStore>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<FilePoolConfiguration>>()));
        services.TryAddSingleton<IPoolConfiguration>(sp => sp.GetRequiredService<FilePoolConfiguration>());
        return builder;
    }
}
