using EnvFabric.Core.V2;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EnvFabric.Functions.Extensions;

/// <summary>Registration of the <c>/v2</c> task platform's parts built so far: the template store, the quota check and the task submit.</summary>
public static class V2Extensions
{
    public static WebApplicationBuilder AddV2(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<IJobTemplateRepository, TableJobTemplateRepository>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<Core.Pools.IQuotaAdmission>(sp => new Core.Pools.QuotaAdmission(sp.GetRequiredService<TimeProvider>()));
        builder.Services.TryAddSingleton<Tasks.V2TaskSubmission>();
        return builder;
    }
}
