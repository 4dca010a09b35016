using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace EnvFabric.Core.Settings;

/// <summary>A 256-bit data key and the id written into every ciphertext made with it.</summary>
public sealed record SecretDataKey(byte Id, byte[] Key);

/// <summary>
/// The deployment's data keys for secrets. Today one (id 1), made once; the id in each ciphertext lets a later
/// rotation keep reading what older keys wrote.
/// </summary>
public interface ISecretKeyRing
{
    /// <summary>The key new secrets are encrypted with.</summary>
    ValueTask<SecretDataKey> CurrentAsync(CancellationToken cancellationToken = default);

    /// <summary>The key with <paramref name="id"/>, or null when the ring has none.</summary>
    ValueTask<SecretDataKey?> FindAsync(byte id, CancellationToken cancellationToken = default);
}

/// <summary>A secret that cannot be decrypted: unknown format or key, or altered (ciphertext, scope or name).</summary>
public sealed class SecretDecryptionException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// AES-GCM for secrets at rest. Format: <c>[format 1][key id][nonce 12][tag 16][ciphertext]</c>. The associated
/// data is the scope key and the name, so a ciphertext copied to another row (scope or name) does not decrypt.
/// </summary>
public sealed class SecretCipher(ISecretKeyRing ring)
{
    /// <summary>The format byte this version writes.</summary>
    public const byte Format = 1;

    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int HeaderSize = 2 + NonceSize + TagSize;

    /// <summary>Encrypts <paramref name="plaintext"/> for the row (<paramref name="scope"/>, <paramref name="name"/>).</summary>
    public async Task<byte[]> EncryptAsync(string plaintext, VariableScope scope, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        ArgumentNullException.ThrowIfNull(scope);
        var key = await ring.CurrentAsync(cancellationToken).ConfigureAwait(false);
        var clear = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[HeaderSize + clear.Length];
        output[0] = Format;
        output[1] = key.Id;
        var nonce = output.AsSpan(2, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key.Key, TagSize);
        aes.Encrypt(nonce, clear, output.AsSpan(HeaderSize), output.AsSpan(2 + NonceSize, TagSize), AssociatedData(scope, name));
        CryptographicOperations.ZeroMemory(clear);
        return output;
    }

    /// <summary>Decrypts a ciphertext of the row (<paramref name="scope"/>, <paramref name="name"/>); throws <see cref="SecretDecryptionException"/>.</summary>
    public async Task<string> DecryptAsync(byte[] ciphertext, VariableScope scope, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        ArgumentNullException.ThrowIfNull(scope);
        if (ciphertext.Length < HeaderSize || ciphertext[0] != Format)
        {
            throw new SecretDecryptionException($"secret '{name}' ({scope.Key}) is not in a known format");
        }

        var key = await ring.FindAsync(ciphertext[1], cancellationToken).ConfigureAwait(false)
            ?? throw new SecretDecryptionException($"secret '{name}' ({scope.Key}) was encrypted with data key {ciphertext[1]}, which this deployment does not have");
        var clear = new byte[ciphertext.Length - HeaderSize];
        try
        {
            using var aes = new AesGcm(key.Key, TagSize);
            aes.Decrypt(ciphertext.AsSpan(2, NonceSize), ciphertext.AsSpan(HeaderSize), ciphertext.AsSpan(2 + NonceSize, TagSize), clear, AssociatedData(scope, name));
            return Encoding.UTF8.GetString(clear);
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new SecretDecryptionException($"secret '{name}' ({scope.Key}) failed authentication: it was altered or belongs to another row", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(clear);
        }
    }

    // Length-prefixed, so ("a", "bc") and ("ab", "c") differ.
    private static byte[] AssociatedData(VariableScope scope, string name)
    {
        var scopeBytes = Encoding.UTF8.GetBytes(scope.Key);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var data = new byte[4 + scopeBytes.Length + nameBytes.Length];
        BinaryPrimitives.WriteInt32BigEndian(data, scopeBytes.Length);
        scopeBytes.CopyTo(data, 4);
        nameBytes.CopyTo(data, 4 + scopeBytes.Length);
        return data;
    }
}
