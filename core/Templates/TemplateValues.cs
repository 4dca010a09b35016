using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EnvFabric.Core.Templates;

/// <summary>
/// The values a template works on, as JSON gives them: <c>null</c>, <see cref="bool"/>, <see cref="long"/>
/// (integral numbers), <see cref="double"/>, <see cref="string"/>, lists (<see cref="IReadOnlyList{T}"/>) and
/// maps (<see cref="IReadOnlyDictionary{TKey, TValue}"/> with string keys). They stand for Go's
/// <c>interface{}</c> values decoded from JSON.
/// </summary>
public static class TemplateValues
{
    /// <summary>The template value of a JSON node.</summary>
    public static object? FromJson(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(p => p.Key, p => FromJson(p.Value), StringComparer.Ordinal),
        JsonArray a => a.Select(FromJson).ToList(),
        JsonValue v => FromJson(JsonSerializer.SerializeToElement(v)),
        _ => throw new ArgumentException($"unexpected JSON node {node.GetType().Name}", nameof(node)),
    };

    /// <summary>The template value of a JSON element.</summary>
    public static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().GroupBy(p => p.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => FromJson(g.Last().Value), StringComparer.Ordinal),
        JsonValueKind.Array => element.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out var n) ? (object)n : element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    /// <summary>Go's type name of a value, as <c>%T</c> prints it.</summary>
    public static string TypeName(object? value) => value switch
    {
        null => "<nil>",
        bool => "bool",
        long => "int",
        double => "float64",
        string => "string",
        IReadOnlyList<object?> => "[]interface {}",
        IReadOnlyDictionary<string, object?> => "map[string]interface {}",
        _ => value.GetType().Name,
    };

    /// <summary>Go's truth: false, 0, nil and empty strings, lists and maps are false.</summary>
    public static bool IsTrue(object? value) => value switch
    {
        null => false,
        bool b => b,
        long n => n != 0,
        double d => d != 0,
        string s => s.Length > 0,
        IReadOnlyList<object?> l => l.Count > 0,
        IReadOnlyDictionary<string, object?> m => m.Count > 0,
        _ => true,
    };

    /// <summary>Go's <c>encoding/json</c> <c>Marshal</c>: sorted keys, HTML-safe escapes, Go's float layout.</summary>
    public static string ToJson(object? value)
    {
        var sb = new StringBuilder();
        Write(sb, value);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? value)
    {
        switch (value)
        {
            case null:
                sb.Append("null");
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case long n:
                sb.Append(n.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                sb.Append(JsonFloat(d));
                break;
            case string s:
                WriteString(sb, s);
                break;
            case IReadOnlyList<object?> list:
                sb.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    Write(sb, list[i]);
                }

                sb.Append(']');
                break;
            case IReadOnlyDictionary<string, object?> map:
                sb.Append('{');
                var first = true;
                foreach (var key in map.Keys.Order(StringComparer.Ordinal))
                {
                    if (!first)
                    {
                        sb.Append(',');
                    }

                    first = false;
                    WriteString(sb, key);
                    sb.Append(':');
                    Write(sb, map[key]);
                }

                sb.Append('}');
                break;
            default:
                WriteString(sb, value.ToString() ?? "");
                break;
        }
    }

    private static string JsonFloat(double d)
    {
        if (double.IsNaN(d) || double.IsInfinity(d))
        {
            throw new TemplateFunctionException($"json: unsupported value: {GoFormat.Value(d)}");
        }

        var abs = Math.Abs(d);
        var text = abs != 0 && (abs < 1e-6 || abs >= 1e21) ? GoFormat.FormatFloat(abs, 'e', -1) : GoFormat.FormatFloat(abs, 'f', -1);
        // encoding/json writes e-07 as e-7.
        var e = text.IndexOf('e', StringComparison.Ordinal);
        if (e >= 0 && text.Length - e == 4 && text[e + 2] == '0')
        {
            text = text[..(e + 2)] + text[(e + 3)..];
        }

        return (d < 0 ? "-" : "") + text;
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '<': sb.Append("\\u003c"); break;
                case '>': sb.Append("\\u003e"); break;
                case '&': sb.Append("\\u0026"); break;
                case '\u2028': sb.Append("\\u2028"); break;
                case '\u2029': sb.Append("\\u2029"); break;
                default:
                    if (c < 0x20)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }
}
