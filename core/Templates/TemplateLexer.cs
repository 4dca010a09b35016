using System.Globalization;
using System.Text;

namespace EnvFabric.Core.Templates;

/// <summary>The kinds of <see cref="Token"/>, as Go's <c>text/template/parse</c> lexer names them.</summary>
internal enum TokenKind
{
    Text,
    LeftDelim,
    RightDelim,
    LeftParen,
    RightParen,
    Pipe,
    Declare,
    Assign,
    Comma,
    Dot,
    Field,
    Variable,
    Identifier,
    String,
    RawString,
    Char,
    Number,
    Bool,
    Nil,
    Keyword,
    Space,
    Eof,
}

/// <summary>One lexeme, with its byte offset in the template text (for line and column in errors).</summary>
internal readonly record struct Token(TokenKind Kind, string Value, int Offset);

/// <summary>
/// Splits a template into text and action tokens, with Go's rules: <c>{{</c>/<c>}}</c> delimiters, the
/// <c>{{- </c> and <c> -}}</c> trim markers (which remove the white space beside them), <c>{{/* */}}</c>
/// comments, string, raw string, character and number literals, fields, variables and keywords.
/// </summary>
internal sealed class TemplateLexer
{
    private const string Left = "{{";
    private const string Right = "}}";
    private const string LeftComment = "/*";
    private const string RightComment = "*/";

    private static readonly HashSet<string> Keywords = ["block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"];

    private readonly string _text;
    private readonly string _name;
    private readonly List<Token> _tokens = [];
    private int _pos;
    private int _parenDepth;

    private TemplateLexer(string name, string text)
    {
        _name = name;
        _text = text;
    }

    /// <summary>The tokens of <paramref name="text"/>, ending with <see cref="TokenKind.Eof"/>.</summary>
    public static List<Token> Lex(string name, string text)
    {
        var lexer = new TemplateLexer(name, text);
        lexer.Run();
        return lexer._tokens;
    }

    /// <summary>The 1-based line of a byte offset.</summary>
    public static int LineOf(string text, int offset)
    {
        var line = 1;
        for (var i = 0; i < offset && i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                line++;
            }
        }

        return line;
    }

    private TemplateException Error(int offset, string message) =>
        TemplateException.Parse(_name, LineOf(_text, offset), message);

    private void Run()
    {
        while (_pos < _text.Length)
        {
            var at = _text.IndexOf(Left, _pos, StringComparison.Ordinal);
            if (at < 0)
            {
                Emit(TokenKind.Text, _text[_pos..], _pos);
                _pos = _text.Length;
                break;
            }

            // "{{- " trims the white space before the action.
            var trimBefore = at + 3 < _text.Length && _text[at + 2] == '-' && IsSpace(_text[at + 3]);
            var textEnd = at;
            if (trimBefore)
            {
                while (textEnd > _pos && IsSpace(_text[textEnd - 1]))
                {
                    textEnd--;
                }
            }

            if (textEnd > _pos)
            {
                Emit(TokenKind.Text, _text[_pos..textEnd], _pos);
            }

            _pos = at + 2 + (trimBefore ? 2 : 0);
            if (!LexComment(at))
            {
                Emit(TokenKind.LeftDelim, Left, at);
                LexInsideAction();
            }
        }

        Emit(TokenKind.Eof, "", _text.Length);
    }

    /// <summary>A comment right after the left delimiter: <c>{{/* ... */}}</c>, trim markers allowed.</summary>
    private bool LexComment(int delimAt)
    {
        if (!_text.AsSpan(_pos).StartsWith(LeftComment, StringComparison.Ordinal))
        {
            return false;
        }

        var end = _text.IndexOf(RightComment, _pos + 2, StringComparison.Ordinal);
        if (end < 0)
        {
            throw Error(delimAt, "unclosed comment");
        }

        _pos = end + 2;
        var trimAfter = false;
        if (_pos + 4 <= _text.Length && IsSpace(_text[_pos]) && _text[_pos + 1] == '-' && _text.AsSpan(_pos + 2).StartsWith(Right, StringComparison.Ordinal))
        {
            trimAfter = true;
            _pos += 4;
        }
        else if (_text.AsSpan(_pos).StartsWith(Right, StringComparison.Ordinal))
        {
            _pos += 2;
        }
        else
        {
            throw Error(delimAt, "comment ends before closing delimiter");
        }

        if (trimAfter)
        {
            SkipSpaces();
        }

        return true;
    }

    private void SkipSpaces()
    {
        while (_pos < _text.Length && IsSpace(_text[_pos]))
        {
            _pos++;
        }
    }

    private void LexInsideAction()
    {
        var start = _pos;
        while (true)
        {
            if (_pos >= _text.Length)
            {
                throw Error(start, "unclosed action");
            }

            // " -}}" trims the white space after the action.
            if (IsSpace(_text[_pos]) && _pos + 3 < _text.Length && _text[_pos + 1] == '-' && _text.AsSpan(_pos + 2).StartsWith(Right, StringComparison.Ordinal))
            {
                if (_parenDepth > 0)
                {
                    throw Error(_pos, "unclosed left paren");
                }

                Emit(TokenKind.RightDelim, Right, _pos + 2);
                _pos += 4;
                SkipSpaces();
                return;
            }

            if (_text.AsSpan(_pos).StartsWith(Right, StringComparison.Ordinal))
            {
                if (_parenDepth > 0)
                {
                    throw Error(_pos, "unclosed left paren");
                }

                Emit(TokenKind.RightDelim, Right, _pos);
                _pos += 2;
                return;
            }

            var c = _text[_pos];
            var at = _pos;
            switch (c)
            {
                case ' ' or '\t' or '\r' or '\n':
                    SkipSpaces();
                    Emit(TokenKind.Space, " ", at);
                    break;
                case '=':
                    _pos++;
                    Emit(TokenKind.Assign, "=", at);
                    break;
                case ':':
                    if (_pos + 1 >= _text.Length || _text[_pos + 1] != '=')
                    {
                        throw Error(at, "expected :=");
                    }

                    _pos += 2;
                    Emit(TokenKind.Declare, ":=", at);
                    break;
                case '|':
                    _pos++;
                    Emit(TokenKind.Pipe, "|", at);
                    break;
                case ',':
                    _pos++;
                    Emit(TokenKind.Comma, ",", at);
                    break;
                case '"':
                    Emit(TokenKind.String, LexQuote(), at);
                    break;
                case '`':
                    Emit(TokenKind.RawString, LexRawQuote(), at);
                    break;
                case '\'':
                    Emit(TokenKind.Char, LexChar(), at);
                    break;
                case '$':
                    _pos++;
                    Emit(TokenKind.Variable, "$" + LexWord(), at);
                    break;
                case '.':
                    if (_pos + 1 < _text.Length && char.IsAsciiDigit(_text[_pos + 1]))
                    {
                        Emit(TokenKind.Number, LexNumber(), at);
                        break;
                    }

                    _pos++;
                    var field = LexWord();
                    Emit(field.Length == 0 ? TokenKind.Dot : TokenKind.Field, "." + field, at);
                    break;
                case '(':
                    _pos++;
                    _parenDepth++;
                    Emit(TokenKind.LeftParen, "(", at);
                    break;
                case ')':
                    _pos++;
                    _parenDepth--;
                    if (_parenDepth < 0)
                    {
                        throw Error(at, "unexpected right paren");
                    }

                    Emit(TokenKind.RightParen, ")", at);
                    break;
                case '+' or '-':
                case >= '0' and <= '9':
                    Emit(TokenKind.Number, LexNumber(), at);
                    break;
                default:
                    if (IsWordChar(c))
                    {
                        var word = LexWord();
                        var kind = word switch
                        {
                            "true" or "false" => TokenKind.Bool,
                            "nil" => TokenKind.Nil,
                            _ when Keywords.Contains(word) => TokenKind.Keyword,
                            _ => TokenKind.Identifier,
                        };
                        Emit(kind, word, at);
                        break;
                    }

                    throw Error(at, $"unrecognized character in action: {Describe(c)}");
            }
        }
    }

    private static string Describe(char c) => char.IsControl(c) ? $"U+{(int)c:X4}" : $"U+{(int)c:X4} '{c}'";

    private string LexWord()
    {
        var start = _pos;
        while (_pos < _text.Length && IsWordChar(_text[_pos]))
        {
            _pos++;
        }

        return _text[start.._pos];
    }

    private string LexNumber()
    {
        var start = _pos;
        if (_text[_pos] is '+' or '-')
        {
            _pos++;
        }

        while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] is '_' or '.' || (_text[_pos] is '+' or '-' && _text[_pos - 1] is 'e' or 'E' or 'p' or 'P')))
        {
            _pos++;
        }

        var number = _text[start.._pos];
        if (number is "+" or "-")
        {
            throw Error(start, $"bad number syntax: \"{number}\"");
        }

        return number;
    }

    private string LexQuote()
    {
        var start = _pos;
        _pos++;
        while (true)
        {
            if (_pos >= _text.Length || _text[_pos] == '\n')
            {
                throw Error(start, "unterminated quoted string");
            }

            if (_text[_pos] == '\\')
            {
                _pos += 2;
                continue;
            }

            if (_text[_pos] == '"')
            {
                _pos++;
                return _text[start.._pos];
            }

            _pos++;
        }
    }

    private string LexRawQuote()
    {
        var start = _pos;
        var end = _text.IndexOf('`', _pos + 1);
        if (end < 0)
        {
            throw Error(start, "unexpected unterminated raw quoted string");
        }

        _pos = end + 1;
        return _text[start.._pos];
    }

    private string LexChar()
    {
        var start = _pos;
        _pos++;
        while (true)
        {
            if (_pos >= _text.Length || _text[_pos] == '\n')
            {
                throw Error(start, "unterminated character constant");
            }

            if (_text[_pos] == '\\')
            {
                _pos += 2;
                continue;
            }

            if (_text[_pos] == '\'')
            {
                _pos++;
                return _text[start.._pos];
            }

            _pos++;
        }
    }

    private void Emit(TokenKind kind, string value, int offset) => _tokens.Add(new Token(kind, value, offset));

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private static bool IsWordChar(char c) => c == '_' || char.IsLetterOrDigit(c);

    /// <summary>The value of a Go string literal (<c>"..."</c> with escapes, or <c>`...`</c>).</summary>
    public static string Unquote(string literal)
    {
        if (literal[0] == '`')
        {
            return literal[1..^1];
        }

        var body = literal[1..^1];
        var sb = new StringBuilder(body.Length);
        var bytes = new List<byte>();
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            if (c != '\\')
            {
                FlushBytes(sb, bytes);
                sb.Append(c);
                continue;
            }

            if (++i >= body.Length)
            {
                throw new FormatException("invalid syntax");
            }

            switch (body[i])
            {
                case 'a': FlushBytes(sb, bytes); sb.Append('\a'); break;
                case 'b': FlushBytes(sb, bytes); sb.Append('\b'); break;
                case 'f': FlushBytes(sb, bytes); sb.Append('\f'); break;
                case 'n': FlushBytes(sb, bytes); sb.Append('\n'); break;
                case 'r': FlushBytes(sb, bytes); sb.Append('\r'); break;
                case 't': FlushBytes(sb, bytes); sb.Append('\t'); break;
                case 'v': FlushBytes(sb, bytes); sb.Append('\v'); break;
                case '\\': FlushBytes(sb, bytes); sb.Append('\\'); break;
                case '"': FlushBytes(sb, bytes); sb.Append('"'); break;
                case 'x':
                    bytes.Add(byte.Parse(Take(body, ref i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    break;
                case 'u':
                    FlushBytes(sb, bytes);
                    sb.Append(char.ConvertFromUtf32(int.Parse(Take(body, ref i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
                    break;
                case 'U':
                    FlushBytes(sb, bytes);
                    sb.Append(char.ConvertFromUtf32(int.Parse(Take(body, ref i, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
                    break;
                case >= '0' and <= '7':
                    i--;
                    bytes.Add(Convert.ToByte(Take(body, ref i, 3), 8));
                    break;
                default:
                    throw new FormatException("invalid syntax");
            }
        }

        FlushBytes(sb, bytes);
        return sb.ToString();
    }

    private static string Take(string body, ref int i, int count)
    {
        if (i + count > body.Length - 1)
        {
            throw new FormatException("invalid syntax");
        }

        var digits = body.Substring(i + 1, count);
        i += count;
        return digits;
    }

    private static void FlushBytes(StringBuilder sb, List<byte> bytes)
    {
        if (bytes.Count > 0)
        {
            sb.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
        }
    }
}
