using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using EnvFabric.Core.Settings;
using EnvFabric.Core.Tests.Environments;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Settings;

[Collection(AzuriteCollection.Name)]
public sealed class SecretCipherTests(AzuriteFixture azurite)
{
    private static readonly VariableScope Scope = VariableScope.ForNamespace("team-a");

    /// <summary>A ring holding one fixed random key, as the deployment's ring holds one made at start.</summary>
    private sealed class OneKeyRing(byte id) : ISecretKeyRing
    {
        private readonly SecretDataKey _key = new(id, RandomNumberGenerator.GetBytes(32));

        public ValueTask<SecretDataKey> CurrentAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(_key);

        public ValueTask<SecretDataKey?> FindAsync(byte keyId, CancellationToken cancellationToken = default) => ValueTask.FromResult(keyId == _key.Id ? _key : null);
    }

    [Fact]
    public async Task EncryptDecrypt_SameRow_RoundTripsWithFormatKeyIdAndFreshNonce()
    {
        var cipher = new SecretCipher(new OneKeyRing(7));
        var a = await cipher.EncryptAsync("hunter2 ü", Scope, "API_TOKEN");
        var b = await cipher.EncryptAsync("hunter2 ü", Scope, "API_TOKEN");

        Assert.Equal(SecretCipher.Format, a[0]);
        Assert.Equal(7, a[1]);
        Assert.NotEqual(a, b);
        Assert.Equal("hunter2 ü", await cipher.DecryptAsync(a, Scope, "API_TOKEN"));
        Assert.Equal("hunter2 ü", await cipher.DecryptAsync(b, Scope, "API_TOKEN"));
    }

    [Fact]
    public async Task Decrypt_TamperedCiphertextOrOtherRow_ThrowsSecretDecryptionException()
    {
        var cipher = new SecretCipher(new OneKeyRing(1));
        var sealedValue = await cipher.EncryptAsync("s3cret", Scope, "API_TOKEN");

        var flipped = (byte[])sealedValue.Clone();
        flipped[^1] ^= 0x01;
        var tag = (byte[])sealedValue.Clone();
        tag[20] ^= 0x80;
        var failures = new[]
        {
            await Assert.ThrowsAsync<SecretDecryptionException>(() => cipher.DecryptAsync(flipped, Scope, "API_TOKEN")),
            await Assert.ThrowsAsync<SecretDecryptionException>(() => cipher.DecryptAsync(tag, Scope, "API_TOKEN")),
            await Assert.ThrowsAsync<SecretDecryptionException>(() => cipher.DecryptAsync(sealedValue, VariableScope.ForNamespace("team-b"), "API_TOKEN")),
            await Assert.ThrowsAsync<SecretDecryptionException>(() => cipher.DecryptAsync(sealedValue, VariableScope.System, "API_TOKEN")),
            await Assert.ThrowsAsync<SecretDecryptionException>(() => cipher.DecryptAsync(sealedValue, Scope, "OTHER")),
        };
        Assert.All(failures, f => Assert.Contains("failed authentication", f.Message, StringComparison.Ordinal));

        var unknownKey = (byte[])sealedValue.Clone();
        unknownKey[1] = 9;
        Assert.Contains("data key 9", (await Assert.ThrowsAsync<SecretDecryptionException>(() => cipher.DecryptAsync(unknownKey, Scope, "API_TOKEN"))).Message, StringComparison.Ordinal);
        Assert.Contains("not in a known format", (await Assert.ThrowsAsync<SecretDecryptionException>(() => cipher.DecryptAsync([2, 1, 0], Scope, "API_TOKEN"))).Message, StringComparison.Ordinal);

        // Another deployment's key cannot read it either.
        var other = new SecretCipher(new OneKeyRing(1));
        await Assert.ThrowsAsync<SecretDecryptionException>(() => other.DecryptAsync(sealedValue, Scope, "API_TOKEN"));
    }

    [Fact]
    public async Task TableVariableStore_Secret_RowHoldsOnlyCiphertext()
    {
        var context = new StorageTestContext(azurite);
        var store = new TableVariableStore(context.Storage, context.Names);
        var cipher = new SecretCipher(new OneKeyRing(1));
        var now = DateTimeOffset.UtcNow;
        var scope = VariableScope.ForTask(12);
        await store.SetAsync(new VariableRecord
        {
            Name = "DB_PASSWORD",
            Type = VariableTypes.Secret,
            Scope = scope,
            Ciphertext = await cipher.EncryptAsync("plain-text-password", scope, "DB_PASSWORD"),
            CreatedAt = now,
            UpdatedAt = now,
            UpdatedBy = "admin",
        });
        await store.SetAsync(new VariableRecord { Name = "REGION", Type = VariableTypes.Plain, Scope = VariableScope.System, Value = "eu-west", CreatedAt = now, UpdatedAt = now, UpdatedBy = "admin" });

        var table = context.Storage.Tables.GetTableClient(context.Names.Table("Variables"));
        var raw = await table.GetEntityAsync<TableEntity>("task:12", "DB_PASSWORD");
        foreach (var (_, value) in raw.Value)
        {
            var text = value switch
            {
                string s => s,
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                BinaryData data => data.ToString(),
                _ => value?.ToString() ?? "",
            };
            Assert.DoesNotContain("plain-text-password", text, StringComparison.Ordinal);
        }

        var read = await store.GetAsync(scope, "DB_PASSWORD");
        Assert.Null(read!.Value);
        Assert.Equal("plain-text-password", await cipher.DecryptAsync(read.Ciphertext!, read.Scope, read.Name));
        Assert.Equal("eu-west", (await store.GetAsync(VariableScope.System, "REGION"))!.Value);
        Assert.Equal(2, (await store.ListAsync(null)).Count);
        Assert.Single(await store.ListAsync(scope));
        Assert.True(await store.DeleteAsync(scope, "DB_PASSWORD"));
        Assert.False(await store.DeleteAsync(scope, "DB_PASSWORD"));
        Assert.Null(await store.GetAsync(scope, "DB_PASSWORD"));
    }
}
