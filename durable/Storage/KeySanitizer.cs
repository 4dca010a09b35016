using System.Text;

namespace EnvFabric.Durable.Storage;

/// <summary>
/// Table keys may not hold <c>/ \ # ?</c> or control characters; DTFx escapes them with <c>^</c>. The escaping
/// is reversible, so queries can return instance ids.
/// </summary>
internal static class KeySanitizer
{
    private const char Escape = '^';

    public static string EscapePartitionKey(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.Any(NeedsEscape))
        {
            return value;
        }

        var sb = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            switch (c)
            {
                case '/': sb.Append(Escape).Append('0'); break;
                case '\\': sb.Append(Escape).Append('1'); break;
                case '#': sb.Append(Escape).Append('2'); break;
                case '?': sb.Append(Escape).Append('3'); break;
                case Escape: sb.Append(Escape).Append(Escape); break;
                default:
                    if (char.IsControl(c))
                    {
                        // Shifted out of the control range, so the key stays printable and the mapping reversible.
                        sb.Append(Escape).Append((char)(c + 0x100));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.ToString();
    }

    public static string UnescapePartitionKey(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.Contains(Escape, StringComparison.Ordinal))
        {
            return value;
        }

        var sb = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c != Escape || i + 1 >= value.Length)
            {
                sb.Append(c);
                continue;
            }

            var next = value[++i];
            sb.Append(next switch
            {
                '0' => '/',
                '1' => '\\',
                '2' => '#',
                '3' => '?',
                Escape => Escape,
                _ => (char)(next - 0x100),
            });
        }

        return sb.ToString();
    }

    private static bool NeedsEscape(char c) => c is '/' or '\\' or '#' or '?' or Escape || char.IsControl(c);
}

/// <summary>FNV-1a, 32 bits, over the UTF-8 bytes: DTFx's instance-to-partition hash.</summary>
internal static class Fnv1a
{
    public static uint Hash(string value)
    {
        const uint offsetBasis = 2166136261;
        const uint prime = 16777619;
        var hash = offsetBasis;
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            hash ^= b;
            hash *= prime;
        }

        return hash;
    }
}
