namespace EnvFabric.Core.Validation;

/// <summary>
/// Recursive-descent parser for the PEP 508 grammar (names, extras, version specifiers, direct URL
/// references, environment markers). Errors are <see cref="FormatException"/>s that
/// <see cref="PackageSpec.Parse"/> turns into messages.
/// </summary>
internal sealed class RequirementParser(string text, bool allowDirectUrls)
{
    private static readonly string[] VersionOperators = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"];

    private int _pos;

    public PackageRequirement ParseRequirement()
    {
        SkipSpace();
        var name = ReadIdentifier("a package name");
        SkipSpace();
        var extras = Peek('[') ? ParseExtras() : [];
        SkipSpace();

        string? url = null;
        IReadOnlyList<VersionSpecifier> specifiers = [];
        if (Peek('@'))
        {
            _pos++;
            url = ParseUrl();
            var hadSpace = SkipSpace();
            if (Peek(';') && !hadSpace)
            {
                throw Fail("a ';' after a URL must be preceded by a space");
            }
        }
        else if (Peek('('))
        {
            _pos++;
            specifiers = ParseVersionMany();
            SkipSpace();
            Expect(')');
        }
        else if (!AtEnd && !Peek(';'))
        {
            specifiers = ParseVersionMany();
        }

        SkipSpace();
        string? marker = null;
        if (Peek(';'))
        {
            _pos++;
            marker = ParseMarkerOr();
            SkipSpace();
        }

        if (!AtEnd)
        {
            throw Fail($"unexpected '{Rest()}'");
        }

        return new PackageRequirement(name, extras, specifiers, url, marker);
    }

    private List<string> ParseExtras()
    {
        Expect('[');
        SkipSpace();
        var extras = new List<string>();
        if (Peek(']'))
        {
            _pos++;
            return extras;
        }

        while (true)
        {
            SkipSpace();
            extras.Add(PackageSpec.NormalizeName(ReadIdentifier("an extra name")));
            SkipSpace();
            if (Peek(','))
            {
                _pos++;
                continue;
            }

            Expect(']');
            return extras;
        }
    }

    private List<VersionSpecifier> ParseVersionMany()
    {
        var specifiers = new List<VersionSpecifier>();
        while (true)
        {
            SkipSpace();
            var op = ReadOperator() ?? throw Fail($"expected a version operator (~=, ==, !=, <=, >=, <, >, ===) at '{Rest()}'");
            SkipSpace();
            var start = _pos;
            while (!AtEnd && IsVersionChar(text[_pos]))
            {
                _pos++;
            }

            var version = text[start.._pos];
            if (PackageVersion.CheckForOperator(op, version) is { } problem)
            {
                throw Fail(problem);
            }

            specifiers.Add(new VersionSpecifier(op, version));
            SkipSpace();
            if (Peek(','))
            {
                _pos++;
                continue;
            }

            return specifiers;
        }
    }

    private string ParseUrl()
    {
        SkipSpace();
        var start = _pos;
        while (!AtEnd && text[_pos] != ' ')
        {
            _pos++;
        }

        var url = text[start.._pos];
        if (url.Length == 0)
        {
            throw Fail("'@' must be followed by a URL");
        }

        if (!allowDirectUrls)
        {
            throw Fail("direct URL references (name @ url) are not allowed here");
        }

        if (!url.All(IsUrlChar)
            || !(url.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
                || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
                || url.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            || !Uri.TryCreate(url, UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https" or "file")
            || (uri.Scheme != "file" && string.IsNullOrEmpty(uri.Host)))
        {
            throw Fail($"'{PackageSpec.Shorten(url)}' is not an http, https or file URL");
        }

        return url;
    }

    // marker_or = marker_and ('or' marker_and)*
    private string ParseMarkerOr()
    {
        var parts = new List<string> { ParseMarkerAnd() };
        while (TryKeyword("or"))
        {
            parts.Add(ParseMarkerAnd());
        }

        return string.Join(" or ", parts);
    }

    // marker_and = marker_expr ('and' marker_expr)*
    private string ParseMarkerAnd()
    {
        var parts = new List<string> { ParseMarkerExpr() };
        while (TryKeyword("and"))
        {
            parts.Add(ParseMarkerExpr());
        }

        return string.Join(" and ", parts);
    }

    // marker_expr = marker_var marker_op marker_var | '(' marker ')'
    private string ParseMarkerExpr()
    {
        SkipSpace();
        if (Peek('('))
        {
            _pos++;
            var inner = ParseMarkerOr();
            SkipSpace();
            Expect(')');
            return "(" + inner + ")";
        }

        var left = ParseMarkerVar();
        var op = ParseMarkerOp();
        var right = ParseMarkerVar();
        return $"{left} {op} {right}";
    }

    private string ParseMarkerVar()
    {
        SkipSpace();
        if (Peek('"') || Peek('\''))
        {
            var quote = text[_pos++];
            var start = _pos;
            while (!AtEnd && text[_pos] != quote)
            {
                if (!IsPythonStringChar(text[_pos]))
                {
                    throw Fail($"character '{text[_pos]}' is not allowed in a marker string");
                }

                _pos++;
            }

            if (AtEnd)
            {
                throw Fail("unterminated string in marker");
            }

            var value = text[start.._pos];
            _pos++;
            return quote == '"' ? "\"" + value + "\"" : "'" + value + "'";
        }

        var nameStart = _pos;
        while (!AtEnd && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] is '_' or '.'))
        {
            _pos++;
        }

        var variable = text[nameStart.._pos];
        if (!PackageSpec.MarkerVariables.Contains(variable))
        {
            throw Fail(variable.Length == 0
                ? $"expected a marker variable or quoted string at '{Rest()}'"
                : $"'{variable}' is not a marker variable (python_version, sys_platform, os_name, ...)");
        }

        return variable;
    }

    private string ParseMarkerOp()
    {
        var hadSpace = SkipSpace();
        if (ReadOperator() is { } op)
        {
            return op;
        }

        // PEP 508 wants whitespace on both sides of "in" and "not in".
        if (hadSpace && TryWord("in") && Peek(' '))
        {
            return "in";
        }

        if (hadSpace && TryWord("not") && SkipSpace() && TryWord("in") && Peek(' '))
        {
            return "not in";
        }

        throw Fail($"expected a marker operator (==, !=, <, <=, >, >=, ~=, ===, in, not in) at '{Rest()}'");
    }

    // A keyword between marker expressions: "and"/"or" need a boundary on the right.
    private bool TryKeyword(string keyword)
    {
        var save = _pos;
        SkipSpace();
        if (TryWord(keyword))
        {
            return true;
        }

        _pos = save;
        return false;
    }

    private bool TryWord(string word)
    {
        if (string.CompareOrdinal(text, _pos, word, 0, word.Length) != 0)
        {
            return false;
        }

        var end = _pos + word.Length;
        if (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] is '_' or '.'))
        {
            return false;
        }

        if (end < text.Length && text[end] is not (' ' or '(' or '"' or '\''))
        {
            return false;
        }

        _pos = end;
        return true;
    }

    private string? ReadOperator()
    {
        foreach (var op in VersionOperators)
        {
            if (string.CompareOrdinal(text, _pos, op, 0, op.Length) == 0)
            {
                _pos += op.Length;
                return op;
            }
        }

        return null;
    }

    private string ReadIdentifier(string what)
    {
        var start = _pos;
        while (!AtEnd && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] is '-' or '_' or '.'))
        {
            _pos++;
        }

        var identifier = text[start.._pos];
        if (!PackageSpec.IsValidName(identifier))
        {
            throw Fail(identifier.Length == 0
                ? $"expected {what} at '{Rest()}'"
                : $"'{identifier}' is not a valid {what[(what.IndexOf(' ', StringComparison.Ordinal) + 1)..]} (letters, digits, '-', '_', '.'; starting and ending with a letter or digit)");
        }

        return identifier;
    }

    // RFC 3986 unreserved, reserved and percent-encoding characters.
    private static bool IsUrlChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || "-._~:/?#[]@!$&'()*+,;=%".Contains(c, StringComparison.Ordinal);

    private static bool IsVersionChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '*' or '+' or '!';

    // PEP 508 python_str_c, plus the other quote kind.
    private static bool IsPythonStringChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || " ().{}-_*#:;,/?[]!~`@$%^&=+|<>\"'".Contains(c, StringComparison.Ordinal);

    private bool SkipSpace()
    {
        var start = _pos;
        while (!AtEnd && text[_pos] == ' ')
        {
            _pos++;
        }

        return _pos > start;
    }

    private bool AtEnd => _pos >= text.Length;

    private bool Peek(char c) => !AtEnd && text[_pos] == c;

    private void Expect(char c)
    {
        if (!Peek(c))
        {
            throw Fail(AtEnd ? $"expected '{c}' at the end" : $"expected '{c}' at '{Rest()}'");
        }

        _pos++;
    }

    private string Rest() => AtEnd ? "(end)" : PackageSpec.Shorten(text[_pos..]);

    private static FormatException Fail(string message) => new(message);
}
