using EnvFabric.Activities.Tasks;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Settings;
using EnvFabric.Functions.Settings;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EnvFabric.Functions.Extensions;

/// <summary>
/// Registration of <c>/api/settings</c>: the variables store, the secrets' cipher and data key, the variables
/// every run receives, and the package index stamped on every environment job as it is enqueued.
/// </summary>
public static class SettingsExtensions
{
    public static WebApplicationBuilder AddSettings(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IVariableStore, TableVariableStore>();
        services.TryAddSingleton<ISecretKeyRing, DataProtectedKeyRing>();
        services.TryAddSingleton<SecretCipher>();
        services.TryAddSingleton<IPackageIndexStore, TablePackageIndexStore>();

        // Replaces the activities' "no variables" default.
        services.Replace(ServiceDescriptor.Singleton<IRunVariables, StoredRunVariables>());

        // Every environment job goes out with the stored package index.
        services.TryAddSingleton<AzureRunnerJobQueue>();
        services.Replace(ServiceDescriptor.Singleton<IRunnerJobQueue>(sp =>
            new PackageIndexJobQueue(sp.GetRequiredService<AzureRunnerJobQueue>(), sp.GetRequiredService<IPackageIndexStore>())));
        return builder;
    }
}
