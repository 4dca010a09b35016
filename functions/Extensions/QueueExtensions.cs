using EnvFabric.Core.Configuration;
using EnvFabric.Core.Pools;
using EnvFabric.Functions.Timers;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EnvFabric.Functions.Extensions;

/// <summary>Registration of the queue views and the SLA timer (<c>SLA_CHECK_SECONDS</c>); the pool configuration itself is registered by the pools area.</summary>
public static class QueueExtensions
{
    public static WebApplicationBuilder AddQueues(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SlaMonitor>();
        // Read once now so a wrong value stops the start with its one line, and again when resolved, so configuration added after this call counts.
        _ = ReadOptions(configuration);
        services.TryAddSingleton(_ => ReadOptions(configuration));
        services.AddHostedService<SlaCheckTimer>();
        return builder;
    }

    /// <summary>SLA_CHECK_SECONDS (0 to 86400, default 15; 0 = no SLA passes); a wrong value stops the host with one line naming it.</summary>
    public static SlaCheckOptions ReadOptions(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return new SlaCheckOptions(TimeSpan.FromSeconds(SettingValue.ReadInt(configuration, "SLA_CHECK_SECONDS", 15, 0, 86_400)));
    }
}
