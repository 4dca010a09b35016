using EnvFabric.Core.Configuration;
using EnvFabric.Functions.Consistency;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EnvFabric.Functions.Extensions;

/// <summary>Registration of the consistency check and repair (<c>/api/system/consistency</c>).</summary>
public static class ConsistencyExtensions
{
    /// <summary>The grace-period setting's name.</summary>
    public const string GraceSetting = "CONSISTENCY_GRACE_SECONDS";

    public static WebApplicationBuilder AddConsistency(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;

        // Read when the options are first built (at start, by ValidateOnStart), after every configuration source is in.
        builder.Services.AddOptions<ConsistencyOptions>()
            .Configure(o => o.GraceSeconds = ReadGraceSeconds(configuration))
            .ValidateOnStart();
        builder.Services.TryAddSingleton<ConsistencyCheck>();
        builder.Services.TryAddSingleton<ConsistencyRepair>();
        return builder;
    }

    /// <summary>CONSISTENCY_GRACE_SECONDS, 0 to 86400 (default 300); a wrong value stops the host with one line naming it.</summary>
    public static int ReadGraceSeconds(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return SettingValue.ReadInt(configuration, GraceSetting, 300, 0, 86_400);
    }
}
