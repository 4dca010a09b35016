using System.Text;

namespace EnvFabric.Runner.Logs;

/// <summary>
/// Replaces a job's secrets (three characters or more, longest first) by <c>***</c> in its output. Works on the
/// UTF-8 bytes, so output that is not valid UTF-8 passes unchanged and a masked body is never longer.
/// </summary>
internal sealed class SecretMask(IEnumerable<string> secrets)
{
    private static readonly byte[] Stars = "***"u8.ToArray();

    private readonly byte[][] _secrets = secrets.Where(s => s.Length >= 3).Distinct()
        .Select(s => Encoding.UTF8.GetBytes(s)).OrderByDescending(s => s.Length).ToArray();

    public bool Active => _secrets.Length > 0;

    /// <summary>The output with every secret masked; never longer than <paramref name="body"/>.</summary>
    public byte[] Apply(byte[] body)
    {
        foreach (var secret in _secrets)
        {
            if (body.AsSpan().IndexOf(secret) < 0)
            {
                continue;
            }

            var masked = new MemoryStream(body.Length);
            var rest = body.AsSpan();
            for (var at = rest.IndexOf(secret); at >= 0; at = rest.IndexOf(secret))
            {
                masked.Write(rest[..at]);
                masked.Write(Stars);
                rest = rest[(at + secret.Length)..];
            }

            masked.Write(rest);
            body = masked.ToArray();
        }

        return body;
    }
}
