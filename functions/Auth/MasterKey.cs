using System.Security.Cryptography;
using System.Text;
using EnvFabric.Core.Configuration;

namespace EnvFabric.Functions.Auth;

/// <summary>
/// The master key, an admin key that cannot be revoked: <c>FUNCTIONS_MASTER_KEY</c>, or else a random key
/// generated at first start and kept in <c>{DATA_ROOT}/host/master.key</c> (mode 0600), which ./run prints.
/// Only its SHA-256 digest stays in memory.
/// </summary>
public sealed class MasterKey
{
    public const string SettingName = "FUNCTIONS_MASTER_KEY";
    public const string FileName = "master.key";
    public const int MinimumLength = 16;

    private readonly byte[] _digest;

    public MasterKey(IConfiguration configuration, DataPaths paths, ILogger<MasterKey> logger)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(paths);
        var configured = configuration[SettingName];
        string value;
        if (!string.IsNullOrWhiteSpace(configured))
        {
            value = configured.Trim();
            Source = SettingName;
        }
        else
        {
            Path = System.IO.Path.Combine(paths.Host, FileName);
            value = ReadOrCreate(Path, logger);
            Source = Path;
        }

        if (value.Length < MinimumLength)
        {
            // The value is a secret: the message gives its length, never the value.
            throw new InvalidSettingException($"Setting {SettingName}: a value of {value.Length} characters is too short (use at least {MinimumLength}, or leave it empty to generate one)");
        }

        _digest = KeySecrets.Digest(value);
        KeyId = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("envfabric-master:" + value)))[..16];
        logger.MasterKeySource(Source);
    }

    /// <summary>Where the key came from (the setting's name or the file's path), for logs.</summary>
    public string Source { get; }

    /// <summary>The generated key's file, or null when the key comes from the setting.</summary>
    public string? Path { get; }

    /// <summary>Changes whenever the key changes, so sessions opened with an old master key end.</summary>
    public string KeyId { get; }

    public KeyIdentity Identity => new(KeyIdentity.MasterName, KeyRoles.Admin, NamespaceAccess.DefaultNamespace, KeyId);

    public bool Matches(string presented)
    {
        ArgumentNullException.ThrowIfNull(presented);
        return CryptographicOperations.FixedTimeEquals(KeySecrets.Digest(presented), _digest);
    }

    private static string ReadOrCreate(string path, ILogger logger)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        for (var attempt = 0; ; attempt++)
        {
            if (File.Exists(path))
            {
                var existing = File.ReadAllText(path).Trim();
                if (existing.Length > 0)
                {
                    return existing;
                }
            }

            var key = KeySecrets.NewSecret();
            try
            {
                // CreateNew: when two hosts start at once on one data root, the second reads the first's key.
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using (var stream = new FileStream(path, options))
                using (var writer = new StreamWriter(stream))
                {
                    writer.Write(key);
                }

                logger.MasterKeyGenerated(path);
                return key;
            }
            catch (IOException) when (attempt < 3 && File.Exists(path))
            {
                // Another process created it between our check and our create; read theirs (retry while it is empty).
                Thread.Sleep(50);
            }
        }
    }
}

/// <summary>How key secrets are made and stored: random, and only their SHA-256 digest is kept.</summary>
public static class KeySecrets
{
    /// <summary>32 random bytes, base64url: 43 characters that are safe in a header, a query and a cookie.</summary>
    public static string NewSecret() => Base64Url(RandomNumberGenerator.GetBytes(32));

    public static byte[] Digest(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return SHA256.HashData(Encoding.UTF8.GetBytes(secret));
    }

    public static string DigestHex(string secret) => Convert.ToHexStringLower(Digest(secret));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
