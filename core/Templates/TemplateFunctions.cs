using System.Globalization;
using System.Text;

namespace EnvFabric.Core.Templates;

/// <summary>A function's own failure; the executor reports it as Go does, <c>error calling NAME: ...</c>.</summary>
internal sealed class TemplateFunctionException(string message) : Exception(message);

/// <summary>
/// The template functions: Go's built-ins (<c>and</c>, <c>or</c>, <c>not</c>, <c>len</c>, <c>index</c>,
/// <c>slice</c>, <c>print</c>, <c>printf</c>, <c>println</c>, <c>html</c>, <c>urlquery</c>, <c>eq</c>,
/// <c>ne</c>, <c>lt</c>, <c>le</c>, <c>gt</c>, <c>ge</c>) and three of Sprig's that schema templates use
/// (<c>default</c>, <c>quote</c>, <c>toJson</c>). <c>and</c> and <c>or</c> are evaluated lazily by the executor.
/// </summary>
internal static class TemplateFunctions
{
    /// <summary>A function: its name, the fewest and most arguments (null: any), and the body.</summary>
    internal sealed record Function(string Name, int Min, int? Max, Func<IReadOnlyList<object?>, object?> Call);

    private static readonly Dictionary<string, Function> All = new Function[]
    {
        new("and", 1, null, _ => throw new InvalidOperationException("and is evaluated by the executor")),
        new("or", 1, null, _ => throw new InvalidOperationException("or is evaluated by the executor")),
        new("not", 1, 1, a => !TemplateValues.IsTrue(a[0])),
        new("len", 1, 1, a => Length(a[0])),
        new("index", 1, null, a => Index(a[0], a.Skip(1).ToList())),
        new("slice", 1, null, a => Slice(a[0], a.Skip(1).ToList())),
        new("print", 0, null, GoFormat.Sprint),
        new("println", 0, null, GoFormat.Sprintln),
        new("printf", 1, null, a => GoFormat.Sprintf(a[0] as string ?? throw new TemplateFunctionException($"wrong type for value; expected string; got {TemplateValues.TypeName(a[0])}"), a.Skip(1).ToList())),
        new("html", 0, null, a => HtmlEscape(a.Count == 1 && a[0] is string s ? s : GoFormat.Sprint(a))),
        new("urlquery", 0, null, a => QueryEscape(a.Count == 1 && a[0] is string s ? s : GoFormat.Sprint(a))),
        new("eq", 1, null, a => Equal(a)),
        new("ne", 2, 2, a => !Equal(a)),
        new("lt", 2, 2, a => Compare(a[0], a[1]) < 0),
        new("le", 2, 2, a => Compare(a[0], a[1]) <= 0),
        new("gt", 2, 2, a => Compare(a[0], a[1]) > 0),
        new("ge", 2, 2, a => Compare(a[0], a[1]) >= 0),
        new("default", 1, null, a => a.Count < 2 || IsEmpty(a[1]) ? a[0] : a[1]),
        new("quote", 0, null, a => string.Join(' ', a.Where(v => v is not null).Select(v => GoFormat.Quote(v as string ?? GoFormat.Value(v))))),
        new("toJson", 1, 1, a => TemplateValues.ToJson(a[0])),
    }.ToDictionary(f => f.Name, StringComparer.Ordinal);

    public static bool Exists(string name) => All.ContainsKey(name);

    public static Function Get(string name) => All[name];

    /// <summary>Sprig's emptiness: nil, false, 0, and empty strings, lists and maps.</summary>
    public static bool IsEmpty(object? value) => !TemplateValues.IsTrue(value);

    private static long Length(object? item) => item switch
    {
        null => throw new TemplateFunctionException("len of nil pointer"),
        string s => Encoding.UTF8.GetByteCount(s),
        IReadOnlyList<object?> l => l.Count,
        IReadOnlyDictionary<string, object?> m => m.Count,
        _ => throw new TemplateFunctionException($"len of type {TemplateValues.TypeName(item)}"),
    };

    private static object? Index(object? item, List<object?> indexes)
    {
        if (item is null)
        {
            throw new TemplateFunctionException("index of untyped nil");
        }

        foreach (var index in indexes)
        {
            switch (item)
            {
                case null:
                    throw new TemplateFunctionException("index of nil pointer");
                case IReadOnlyList<object?> list:
                    item = list[IndexArg(index, list.Count)];
                    break;
                case string s:
                    var bytes = Encoding.UTF8.GetBytes(s);
                    item = (long)bytes[IndexArg(index, bytes.Length)];
                    break;
                case IReadOnlyDictionary<string, object?> map:
                    var key = index switch
                    {
                        string k => k,
                        null => throw new TemplateFunctionException("value is nil; should be of type string"),
                        _ => throw new TemplateFunctionException($"value has type {TemplateValues.TypeName(index)}; should be string"),
                    };
                    // A missing key gives the zero value, as in Go.
                    item = map.GetValueOrDefault(key);
                    break;
                default:
                    throw new TemplateFunctionException($"can't index item of type {TemplateValues.TypeName(item)}");
            }
        }

        return item;
    }

    private static int IndexArg(object? index, int length)
    {
        var x = index switch
        {
            long n => n,
            null => throw new TemplateFunctionException("cannot index slice/array with nil"),
            _ => throw new TemplateFunctionException($"cannot index slice/array with type {TemplateValues.TypeName(index)}"),
        };
        return x < 0 || x >= length ? throw new TemplateFunctionException($"index out of range: {x}") : (int)x;
    }

    private static object? Slice(object? item, List<object?> indexes)
    {
        if (item is null)
        {
            throw new TemplateFunctionException("slice of untyped nil");
        }

        if (indexes.Count > 3)
        {
            throw new TemplateFunctionException($"too many slice indexes: {indexes.Count}");
        }

        int length;
        switch (item)
        {
            case string s:
                if (indexes.Count == 3)
                {
                    throw new TemplateFunctionException("cannot 3-index slice a string");
                }

                length = Encoding.UTF8.GetByteCount(s);
                break;
            case IReadOnlyList<object?> l:
                length = l.Count;
                break;
            default:
                throw new TemplateFunctionException($"can't slice item of type {TemplateValues.TypeName(item)}");
        }

        var bounds = new[] { 0, length, length };
        for (var i = 0; i < indexes.Count; i++)
        {
            var x = indexes[i] switch
            {
                long n => n,
                null => throw new TemplateFunctionException("cannot index slice/array with nil"),
                var other => throw new TemplateFunctionException($"cannot index slice/array with type {TemplateValues.TypeName(other)}"),
            };
            if (x < 0 || x > length)
            {
                throw new TemplateFunctionException($"index out of range: {x}");
            }

            bounds[i] = (int)x;
        }

        if (bounds[0] > bounds[1])
        {
            throw new TemplateFunctionException($"invalid slice index: {bounds[0]} > {bounds[1]}");
        }

        if (indexes.Count == 3 && bounds[1] > bounds[2])
        {
            throw new TemplateFunctionException($"invalid slice index: {bounds[1]} > {bounds[2]}");
        }

        return item is string text
            ? Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text), bounds[0], bounds[1] - bounds[0])
            : ((IReadOnlyList<object?>)item).Skip(bounds[0]).Take(bounds[1] - bounds[0]).ToList();
    }

    private static bool Equal(IReadOnlyList<object?> args)
    {
        if (args.Count < 2)
        {
            throw new TemplateFunctionException("missing argument for comparison");
        }

        var first = args[0];
        foreach (var other in args.Skip(1))
        {
            if (EqualPair(first, other))
            {
                return true;
            }
        }

        return false;
    }

    private static bool EqualPair(object? a, object? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        if (a is IReadOnlyList<object?> or IReadOnlyDictionary<string, object?>)
        {
            throw new TemplateFunctionException($"non-comparable type {GoFormat.Value(a)}: {TemplateValues.TypeName(a)}");
        }

        if (b is IReadOnlyList<object?> or IReadOnlyDictionary<string, object?>)
        {
            throw new TemplateFunctionException($"non-comparable type {GoFormat.Value(b)}: {TemplateValues.TypeName(b)}");
        }

        return (a, b) switch
        {
            (bool x, bool y) => x == y,
            (string x, string y) => string.Equals(x, y, StringComparison.Ordinal),
            (long x, long y) => x == y,
            // Numbers compare by value whatever their kind: JSON data does not tell 2 from 2.0.
            (long or double, long or double) => Convert.ToDouble(a, CultureInfo.InvariantCulture) == Convert.ToDouble(b, CultureInfo.InvariantCulture),
            _ => throw new TemplateFunctionException("incompatible types for comparison"),
        };
    }

    private static int Compare(object? a, object? b) => (a, b) switch
    {
        (string x, string y) => string.CompareOrdinal(x, y),
        (long x, long y) => x.CompareTo(y),
        (long or double, long or double) => Convert.ToDouble(a, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(b, CultureInfo.InvariantCulture)),
        (long or double or string, long or double or string) => throw new TemplateFunctionException("incompatible types for comparison"),
        _ => throw new TemplateFunctionException("invalid type for comparison"),
    };

    /// <summary>Go's <c>template.HTMLEscapeString</c>.</summary>
    private static string HtmlEscape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '"' => "&#34;",
                '\'' => "&#39;",
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '\0' => "\uFFFD",
                _ => c.ToString(),
            });
        }

        return sb.ToString();
    }

    /// <summary>Go's <c>url.QueryEscape</c>: unreserved characters kept, space as <c>+</c>, the rest as <c>%XX</c>.</summary>
    private static string QueryEscape(string s)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
            {
                sb.Append((char)b);
            }
            else if (b == ' ')
            {
                sb.Append('+');
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }
}
