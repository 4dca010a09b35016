using EnvFabric.Core.Configuration;
using EnvFabric.Core.Monitoring;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EnvFabric.Functions.Extensions;

/// <summary>Registration of the system monitor: the samples table, the one sampler (a hosted service) and its setting.</summary>
public static class MonitorExtensions
{
    public static WebApplicationBuilder AddSystemMonitor(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SystemSampleStore>();
        // Read once now so a wrong value stops the start with its one line (a hosted service's failure would add a
        // stack trace), and again when resolved, so configuration added after this call counts.
        _ = ReadOptions(configuration);
        services.TryAddSingleton(_ => ReadOptions(configuration));
        services.TryAddSingleton<SystemSampler>();
        services.AddHostedService(sp => sp.GetRequiredService<SystemSampler>());
        return builder;
    }

    /// <summary>SYSTEM_SAMPLE_SECONDS (1 to 3600, default 10); a wrong value stops the host with one line naming it.</summary>
    public static SystemMonitorOptions ReadOptions(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return new SystemMonitorOptions(TimeSpan.FromSeconds(SettingValue.ReadInt(configuration, "SYSTEM_SAMPLE_SECONDS", 10, 1, 3600)));
    }
}
