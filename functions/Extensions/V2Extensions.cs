using EnvFabric.Core.V2;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EnvFabric.Functions.Extensions;

/// <summary>Registration of the <c>/v2</c> task platform's parts built so far: the template store.</summary>
public static class V2Extensions
{
    public static WebApplicationBuilder AddV2(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<IJobTemplateRepository, TableJobTemplateRepository>();
        return builder;
    }
}
