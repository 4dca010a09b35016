using System.Globalization;
using System.Text;

namespace EnvFabric.Core.Templates;

/// <summary>
/// Go's <c>fmt</c> and <c>strconv</c> formatting for template values (<see cref="TemplateValues"/>):
/// <c>%v</c> printing, <c>Sprint</c>, <c>Sprintln</c>, <c>Sprintf</c> with Go's verbs, flags and error
/// notations (<c>%!d(string=x)</c>, <c>%!v(MISSING)</c>, <c>%!(EXTRA ...)</c>), <c>strconv.Quote</c>, and floats
/// laid out as <c>strconv.FormatFloat</c> does.
/// </summary>
internal static class GoFormat
{
    /// <summary>The value as Go's <c>%v</c> prints it: <c>&lt;nil&gt;</c>, <c>[a b]</c>, <c>map[k:v]</c>.</summary>
    public static string Value(object? value)
    {
        var sb = new StringBuilder();
        AppendValue(sb, value, 'v', new Spec());
        return sb.ToString();
    }

    /// <summary>Go's <c>fmt.Sprint</c>: spaces between operands when neither side is a string.</summary>
    public static string Sprint(IReadOnlyList<object?> args)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < args.Count; i++)
        {
            if (i > 0 && args[i] is not string && args[i - 1] is not string)
            {
                sb.Append(' ');
            }

            AppendValue(sb, args[i], 'v', new Spec());
        }

        return sb.ToString();
    }

    /// <summary>Go's <c>fmt.Sprintln</c>: spaces between all operands and a final newline.</summary>
    public static string Sprintln(IReadOnlyList<object?> args) => string.Join(' ', args.Select(Value)) + "\n";

    /// <summary>Go's <c>strconv.Quote</c>.</summary>
    public static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (var rune in s.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\a': sb.Append("\\a"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\v': sb.Append("\\v"); break;
                default:
                    if (IsPrint(rune))
                    {
                        sb.Append(rune.ToString());
                    }
                    else if (rune.Value == 0xFFFD)
                    {
                        sb.Append("\\ufffd");
                    }
                    else if (rune.Value < 0x80)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"\\x{rune.Value:x2}");
                    }
                    else if (rune.Value <= 0xFFFF)
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"\\u{rune.Value:x4}");
                    }
                    else
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"\\U{rune.Value:x8}");
                    }

                    break;
            }
        }

        return sb.Append('"').ToString();
    }

    private static bool IsPrint(Rune rune) =>
        rune.Value == ' ' || (!Rune.IsControl(rune) && !Rune.IsWhiteSpace(rune) && Rune.GetUnicodeCategory(rune) is not (UnicodeCategory.Format or UnicodeCategory.OtherNotAssigned or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate));

    /// <summary>Go's <c>fmt.Sprintf</c> over template values.</summary>
    public static string Sprintf(string format, IReadOnlyList<object?> args)
    {
        var sb = new StringBuilder();
        var next = 0;
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if (c != '%')
            {
                sb.Append(c);
                continue;
            }

            i++;
            var spec = new Spec();
            for (; i < format.Length; i++)
            {
                switch (format[i])
                {
                    case '+': spec.Plus = true; continue;
                    case '-': spec.Minus = true; spec.Zero = false; continue;
                    case '#': spec.Sharp = true; continue;
                    case ' ': spec.Space = true; continue;
                    case '0': spec.Zero = !spec.Minus; continue;
                }

                break;
            }

            spec.Width = ReadNumber(format, ref i, args, ref next);
            if (i < format.Length && format[i] == '.')
            {
                i++;
                spec.Precision = ReadNumber(format, ref i, args, ref next) ?? 0;
            }

            if (i >= format.Length)
            {
                sb.Append("%!(NOVERB)");
                break;
            }

            var verb = format[i];
            if (verb == '%')
            {
                sb.Append('%');
                continue;
            }

            if (next >= args.Count)
            {
                sb.Append("%!").Append(verb).Append("(MISSING)");
                continue;
            }

            var arg = args[next++];
            var piece = new StringBuilder();
            AppendValue(piece, arg, verb, spec);
            sb.Append(piece);
        }

        if (next < args.Count)
        {
            sb.Append("%!(EXTRA ");
            sb.AppendJoin(", ", args.Skip(next).Select(a => TemplateValues.TypeName(a) + "=" + Value(a)));
            sb.Append(')');
        }

        return sb.ToString();
    }

    private static int? ReadNumber(string format, ref int i, IReadOnlyList<object?> args, ref int next)
    {
        if (i < format.Length && format[i] == '*')
        {
            i++;
            return next < args.Count && args[next++] is long n ? (int)Math.Clamp(n, 0, 1_000_000) : null;
        }

        var start = i;
        while (i < format.Length && char.IsAsciiDigit(format[i]))
        {
            i++;
        }

        return i > start ? (int)Math.Min(1_000_000, long.Parse(format.AsSpan(start, i - start), CultureInfo.InvariantCulture)) : null;
    }

    /// <summary>Formatting flags of one verb.</summary>
    private sealed class Spec
    {
        public bool Plus { get; set; }
        public bool Minus { get; set; }
        public bool Sharp { get; set; }
        public bool Space { get; set; }
        public bool Zero { get; set; }
        public int? Width { get; set; }
        public int? Precision { get; set; }
    }

    private static void AppendValue(StringBuilder sb, object? value, char verb, Spec spec)
    {
        switch (value)
        {
            case null:
                Pad(sb, verb is 'v' or 's' ? "<nil>" : $"%!{verb}(<nil>)", spec, numeric: false);
                return;
            case IReadOnlyList<object?> list when verb != 'T':
                var listBody = new StringBuilder("[");
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0)
                    {
                        listBody.Append(' ');
                    }

                    AppendValue(listBody, list[i], verb, spec);
                }

                sb.Append(listBody.Append(']'));
                return;
            case IReadOnlyDictionary<string, object?> map when verb != 'T':
                var mapBody = new StringBuilder("map[");
                var first = true;
                foreach (var key in map.Keys.Order(StringComparer.Ordinal))
                {
                    if (!first)
                    {
                        mapBody.Append(' ');
                    }

                    first = false;
                    AppendValue(mapBody, key, verb, spec);
                    mapBody.Append(':');
                    AppendValue(mapBody, map[key], verb, spec);
                }

                sb.Append(mapBody.Append(']'));
                return;
        }

        if (verb == 'T')
        {
            Pad(sb, TemplateValues.TypeName(value), spec, numeric: false);
            return;
        }

        var text = value switch
        {
            bool b => verb is 'v' or 't' ? (b ? "true" : "false") : null,
            long n => FormatInteger(n, verb, spec),
            double d => FormatFloat(d, verb, spec),
            string s => FormatString(s, verb, spec),
            _ => null,
        };
        if (text is null)
        {
            sb.Append("%!").Append(verb).Append('(').Append(TemplateValues.TypeName(value)).Append('=').Append(Value(value)).Append(')');
            return;
        }

        Pad(sb, text, spec, numeric: value is long or double && verb is not ('c' or 'q' or 'U'));
    }

    private static void Pad(StringBuilder sb, string text, Spec spec, bool numeric)
    {
        var width = spec.Width ?? 0;
        var length = text.EnumerateRunes().Count();
        if (length >= width)
        {
            sb.Append(text);
            return;
        }

        var fill = width - length;
        if (spec.Minus)
        {
            sb.Append(text).Append(' ', fill);
        }
        else if (spec.Zero && numeric && !text.Contains("Inf", StringComparison.Ordinal) && text != "NaN")
        {
            var sign = text.Length > 0 && text[0] is '+' or '-' or ' ' ? text[..1] : "";
            sb.Append(sign).Append('0', fill).Append(text.AsSpan(sign.Length));
        }
        else
        {
            sb.Append(' ', fill).Append(text);
        }
    }

    private static string? FormatInteger(long n, char verb, Spec spec)
    {
        var negative = n < 0;
        var magnitude = negative ? (ulong)(-(n + 1)) + 1 : (ulong)n;
        string digits;
        switch (verb)
        {
            case 'v' or 'd':
                digits = magnitude.ToString(CultureInfo.InvariantCulture);
                break;
            case 'b':
                digits = Convert.ToString((long)magnitude, 2);
                break;
            case 'o' or 'O':
                digits = Convert.ToString((long)magnitude, 8);
                if (verb == 'O')
                {
                    digits = "0o" + digits;
                }
                else if (spec.Sharp)
                {
                    digits = "0" + digits;
                }

                break;
            case 'x':
                digits = (spec.Sharp ? "0x" : "") + magnitude.ToString("x", CultureInfo.InvariantCulture);
                break;
            case 'X':
                digits = (spec.Sharp ? "0X" : "") + magnitude.ToString("X", CultureInfo.InvariantCulture);
                break;
            case 'c':
                return n is >= 0 and <= 0x10FFFF && !(n is >= 0xD800 and <= 0xDFFF) ? char.ConvertFromUtf32((int)n) : "\uFFFD";
            case 'q':
                return n is >= 0 and <= 0x10FFFF && !(n is >= 0xD800 and <= 0xDFFF) ? "'" + Quote(char.ConvertFromUtf32((int)n))[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'" : "'\\ufffd'";
            case 'U':
                return "U+" + n.ToString("X4", CultureInfo.InvariantCulture);
            default:
                return null;
        }

        if (spec.Precision is { } p && digits.Length < p)
        {
            digits = new string('0', p - digits.Length) + digits;
        }

        return (negative ? "-" : spec.Plus ? "+" : spec.Space ? " " : "") + digits;
    }

    private static string? FormatString(string s, char verb, Spec spec)
    {
        switch (verb)
        {
            case 'v' or 's':
                return spec.Precision is { } p ? new string([.. s.EnumerateRunes().Take(p).SelectMany(r => r.ToString())]) : s;
            case 'q':
                return spec.Sharp && CanBackquote(s) ? "`" + s + "`" : Quote(s);
            case 'x' or 'X':
                var hex = Convert.ToHexString(Encoding.UTF8.GetBytes(s));
                return verb == 'x' ? hex.ToLowerInvariant() : hex;
            default:
                return null;
        }
    }

    private static bool CanBackquote(string s) => !s.Any(c => c == '`' || c == '\uFEFF' || (char.IsControl(c) && c != '\t'));

    private static string? FormatFloat(double d, char verb, Spec spec)
    {
        var sign = d < 0 || (d == 0 && double.IsNegative(d)) ? "-" : spec.Plus ? "+" : spec.Space ? " " : "";
        if (double.IsNaN(d))
        {
            return spec.Plus ? "+NaN" : spec.Space ? " NaN" : "NaN";
        }

        if (double.IsInfinity(d))
        {
            return (d < 0 ? "-" : spec.Space && !spec.Plus ? " " : "+") + "Inf";
        }

        var body = verb switch
        {
            'v' => FormatFloat(Math.Abs(d), 'g', spec.Precision ?? -1),
            'e' or 'E' or 'f' or 'F' => FormatFloat(Math.Abs(d), char.ToLowerInvariant(verb) == 'f' ? 'f' : 'e', spec.Precision ?? 6),
            'g' or 'G' => FormatFloat(Math.Abs(d), 'g', spec.Precision ?? -1),
            _ => null,
        };
        if (body is null)
        {
            return null;
        }

        if (verb is 'E' or 'G')
        {
            body = body.ToUpperInvariant();
        }

        return sign + body;
    }

    /// <summary>
    /// <c>strconv.FormatFloat(d, fmt, prec, 64)</c> for a non-negative finite <paramref name="d"/> and fmt
    /// <c>e</c>, <c>f</c> or <c>g</c>; a precision of -1 means the fewest digits that read back exactly.
    /// </summary>
    public static string FormatFloat(double d, char fmt, int prec)
    {
        var shortest = prec < 0;
        var (digits, dp) = shortest ? ShortestDigits(d) : RoundedDigits(d, fmt, prec);
        var nd = digits.Length;
        if (shortest)
        {
            prec = fmt switch
            {
                'e' => Math.Max(nd - 1, 0),
                'f' => Math.Max(nd - dp, 0),
                _ => nd,
            };
        }

        switch (fmt)
        {
            case 'e':
                return FormatE(digits, dp, prec);
            case 'f':
                return FormatF(digits, dp, prec);
            default:
                var eprec = prec;
                if (eprec > nd && nd >= dp)
                {
                    eprec = nd;
                }

                if (shortest)
                {
                    eprec = 6;
                }

                var exp = dp - 1;
                if (nd == 0)
                {
                    exp = 0;
                }

                if (exp < -4 || exp >= eprec)
                {
                    if (prec > nd)
                    {
                        prec = nd;
                    }

                    return FormatE(digits, dp, prec - 1);
                }

                if (prec > dp)
                {
                    prec = nd;
                }

                return FormatF(digits, dp, Math.Max(prec - dp, 0));
        }
    }

    private static string FormatE(string digits, int dp, int prec)
    {
        var sb = new StringBuilder();
        sb.Append(digits.Length > 0 ? digits[0] : '0');
        if (prec > 0)
        {
            sb.Append('.');
            for (var i = 1; i <= prec; i++)
            {
                sb.Append(i < digits.Length ? digits[i] : '0');
            }
        }

        var exp = digits.Length == 0 ? 0 : dp - 1;
        sb.Append('e').Append(exp < 0 ? '-' : '+');
        var e = Math.Abs(exp);
        sb.Append(e < 10 ? "0" + e.ToString(CultureInfo.InvariantCulture) : e.ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    private static string FormatF(string digits, int dp, int prec)
    {
        var sb = new StringBuilder();
        if (dp > 0)
        {
            for (var i = 0; i < dp; i++)
            {
                sb.Append(i < digits.Length ? digits[i] : '0');
            }
        }
        else
        {
            sb.Append('0');
        }

        if (prec > 0)
        {
            sb.Append('.');
            for (var i = 0; i < prec; i++)
            {
                var j = dp + i;
                sb.Append(j >= 0 && j < digits.Length ? digits[j] : '0');
            }
        }

        return sb.ToString();
    }

    /// <summary>The shortest decimal digits that read back as <paramref name="d"/>, and the decimal point's place.</summary>
    private static (string Digits, int Dp) ShortestDigits(double d)
    {
        var (digits, dp) = Decompose(d.ToString("R", CultureInfo.InvariantCulture));
        return (digits.TrimEnd('0'), dp);
    }

    /// <summary>Digits rounded for a fixed precision (.NET's formatting is exact, like Go's).</summary>
    private static (string Digits, int Dp) RoundedDigits(double d, char fmt, int prec)
    {
        prec = Math.Min(prec, 1000);
        return fmt switch
        {
            'e' => Decompose(d.ToString("E" + prec.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)),
            'f' => Decompose(d.ToString("F" + prec.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)),
            _ => Trim(Decompose(d.ToString("E" + Math.Max(prec - 1, 0).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture))),
        };

        static (string, int) Trim((string Digits, int Dp) x) => (x.Digits.TrimEnd('0'), x.Dp);
    }

    /// <summary>Splits a .NET number text (<c>123.45</c>, <c>1.5E-05</c>) into significant digits and the point's place.</summary>
    private static (string Digits, int Dp) Decompose(string text)
    {
        var exp = 0;
        var e = text.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exp = int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            text = text[..e];
        }

        var point = text.IndexOf('.', StringComparison.Ordinal);
        var intLength = point < 0 ? text.Length : point;
        var digits = text.Replace(".", "", StringComparison.Ordinal);
        var dp = intLength + exp;
        var lead = 0;
        while (lead < digits.Length && digits[lead] == '0')
        {
            lead++;
        }

        digits = digits[lead..];
        dp -= lead;
        if (digits.Length == 0)
        {
            return ("", 0);
        }

        return (digits, dp);
    }
}
