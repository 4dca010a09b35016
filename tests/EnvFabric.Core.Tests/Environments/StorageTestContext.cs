using EnvFabric.Core.Configuration;
using EnvFabric.Core.Storage;
using EnvFabric.Testing;
using Microsoft.Extensions.Options;

namespace EnvFabric.Core.Tests.Environments;

/// <summary>Storage clients and a unique name prefix for one test.</summary>
internal sealed class StorageTestContext(AzuriteFixture azurite)
{
    public StorageAccount Storage { get; } = StorageAccount.FromConnectionString(azurite.ConnectionString);

    public StorageNames Names { get; } = new(Options.Create(new EnvFabricOptions { StoragePrefix = AzuriteFixture.UniqueName("p") }));
}
