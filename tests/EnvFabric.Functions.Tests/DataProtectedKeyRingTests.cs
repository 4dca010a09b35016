using EnvFabric.Core.Configuration;
using EnvFabric.Core.Settings;
using EnvFabric.Core.Storage;
using EnvFabric.Functions.Settings;
using EnvFabric.Testing;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class DataProtectedKeyRingTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task CurrentAsync_HostsStartingTogether_AgreeOnOneKeyAndAnotherRingCannotUnprotectIt()
    {
        var storage = StorageAccount.FromConnectionString(azurite.ConnectionString);
        var names = new StorageNames(Options.Create(new EnvFabricOptions { StoragePrefix = AzuriteFixture.UniqueName("k") }));
        var protection = new EphemeralDataProtectionProvider();
        var rings = Enumerable.Range(0, 4).Select(_ => new DataProtectedKeyRing(storage, names, protection)).ToList();
        try
        {
            var keys = await Task.WhenAll(rings.Select(r => r.CurrentAsync().AsTask()));
            Assert.All(keys, k => Assert.Equal(keys[0].Key, k.Key));
            Assert.Equal(32, keys[0].Key.Length);
            Assert.Equal(DataProtectedKeyRing.CurrentId, keys[0].Id);

            // What one host sealed, another (started later) opens.
            var sealedValue = await new SecretCipher(rings[0]).EncryptAsync("v", VariableScope.System, "A");
            using var later = new DataProtectedKeyRing(storage, names, protection);
            Assert.Equal("v", await new SecretCipher(later).DecryptAsync(sealedValue, VariableScope.System, "A"));
            Assert.Null(await later.FindAsync(2));

            // A deployment whose data protection ring is not the one that protected the key says so.
            using var stranger = new DataProtectedKeyRing(storage, names, new EphemeralDataProtectionProvider());
            var failure = await Assert.ThrowsAsync<SecretDecryptionException>(() => stranger.CurrentAsync().AsTask());
            Assert.Contains("cannot be unprotected", failure.Message, StringComparison.Ordinal);
        }
        finally
        {
            rings.ForEach(r => r.Dispose());
        }
    }
}
