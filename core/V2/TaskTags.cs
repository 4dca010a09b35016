using System.Text.RegularExpressions;

namespace EnvFabric.Core.V2;

/// <summary>Seed 002's task tags, <c>k=v,k=v</c>: keys and values of 1 to 64 letters, digits, <c>.</c>, <c>_</c>, <c>-</c> or <c>/</c>, at most 20.</summary>
public static partial class TaskTags
{
    /// <summary>The most tags a task carries.</summary>
    public const int MaxTags = 20;

    /// <summary>The tags of <c>k=v,k=v</c> text (empty or blank = none), or why not.</summary>
    public static (IReadOnlyDictionary<string, string>? Tags, string? Problem) Parse(string? text) =>
        Parse(string.IsNullOrWhiteSpace(text) ? [] : text.Split(','));

    /// <summary>The tags of <c>k=v</c> items, or why not; a key given twice is refused.</summary>
    public static (IReadOnlyDictionary<string, string>? Tags, string? Problem) Parse(IEnumerable<string> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in items)
        {
            var item = raw.Trim();
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? item : item[..eq];
            var value = eq < 0 ? "" : item[(eq + 1)..];
            if (eq < 0 || !Part().IsMatch(key) || !Part().IsMatch(value))
            {
                return (null, $"tag '{item}' is not key=value with key and value of 1 to 64 letters, digits, '.', '_', '-' or '/'");
            }

            if (!tags.TryAdd(key, value))
            {
                return (null, $"tag key '{key}' is given twice");
            }

            if (tags.Count > MaxTags)
            {
                return (null, $"at most {MaxTags} tags");
            }
        }

        return (tags, null);
    }

    /// <summary>The tags as <c>k=v,k=v</c>, keys in order.</summary>
    public static string Format(IReadOnlyDictionary<string, string> tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        return string.Join(',', tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => t.Key + "=" + t.Value));
    }

    [GeneratedRegex("^[A-Za-z0-9._/-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Part();
}
