using System.Globalization;
using System.Numerics;

namespace EnvFabric.Core.Templates;

/// <summary>A node of a parsed template; <see cref="Offset"/> is where it starts in the text.</summary>
internal abstract record Node(int Offset)
{
    /// <summary>The node as template source, as Go prints it in error messages.</summary>
    public abstract string Source { get; }
}

internal sealed record ListNode(int Offset, List<Node> Nodes) : Node(Offset)
{
    public override string Source => string.Concat(Nodes.Select(n => n.Source));
}

internal sealed record TextNode(int Offset, string Text) : Node(Offset)
{
    public override string Source => Text;
}

internal sealed record ActionNode(int Offset, PipeNode Pipe) : Node(Offset)
{
    public override string Source => "{{" + Pipe.Source + "}}";
}

internal enum BranchKind
{
    If,
    With,
    Range,
}

internal sealed record BranchNode(int Offset, BranchKind Kind, PipeNode Pipe, ListNode List, ListNode? Else) : Node(Offset)
{
    public override string Source => "{{" + Kind.ToString().ToLowerInvariant() + " " + Pipe.Source + "}}" + List.Source + (Else is null ? "" : "{{else}}" + Else.Source) + "{{end}}";
}

internal sealed record TemplateCallNode(int Offset, string Name, PipeNode? Pipe) : Node(Offset)
{
    public override string Source => "{{template " + GoFormat.Quote(Name) + (Pipe is null ? "" : " " + Pipe.Source) + "}}";
}

internal sealed record BreakNode(int Offset) : Node(Offset)
{
    public override string Source => "{{break}}";
}

internal sealed record ContinueNode(int Offset) : Node(Offset)
{
    public override string Source => "{{continue}}";
}

/// <summary>The end or else of a block while parsing; never part of a finished tree.</summary>
internal sealed record DelimiterNode(int Offset, string Keyword) : Node(Offset)
{
    public override string Source => "{{" + Keyword + "}}";
}

internal sealed record PipeNode(int Offset, List<VariableNode> Decl, bool IsAssign, List<CommandNode> Commands) : Node(Offset)
{
    public override string Source =>
        (Decl.Count > 0 ? string.Join(", ", Decl.Select(d => d.Source)) + (IsAssign ? " = " : " := ") : "") + string.Join(" | ", Commands.Select(c => c.Source));
}

internal sealed record CommandNode(int Offset, List<Node> Args) : Node(Offset)
{
    public override string Source => string.Join(" ", Args.Select(a => a is PipeNode ? "(" + a.Source + ")" : a.Source));
}

internal sealed record FieldNode(int Offset, string[] Names) : Node(Offset)
{
    public override string Source => string.Concat(Names.Select(n => "." + n));
}

/// <summary>A variable (<c>$</c>, <c>$x</c>) with an optional field chain.</summary>
internal sealed record VariableNode(int Offset, string Name, string[] Fields) : Node(Offset)
{
    public override string Source => Name + string.Concat(Fields.Select(n => "." + n));
}

internal sealed record ChainNode(int Offset, Node Target, string[] Fields) : Node(Offset)
{
    public override string Source => (Target is PipeNode ? "(" + Target.Source + ")" : Target.Source) + string.Concat(Fields.Select(n => "." + n));
}

internal sealed record DotNode(int Offset) : Node(Offset)
{
    public override string Source => ".";
}

internal sealed record NilNode(int Offset) : Node(Offset)
{
    public override string Source => "nil";
}

internal sealed record BoolNode(int Offset, bool Value) : Node(Offset)
{
    public override string Source => Value ? "true" : "false";
}

/// <summary>A number literal: a <see cref="long"/> for integers and characters, a <see cref="double"/> otherwise.</summary>
internal sealed record NumberNode(int Offset, object Value, string Text) : Node(Offset)
{
    public override string Source => Text;
}

internal sealed record StringNode(int Offset, string Value, string Quoted) : Node(Offset)
{
    public override string Source => Quoted;
}

internal sealed record IdentifierNode(int Offset, string Name) : Node(Offset)
{
    public override string Source => Name;
}

/// <summary>
/// Builds the tree of a template the way Go's <c>text/template/parse</c> does: the same grammar, the same
/// checks at parse time (functions must exist, variables must be declared, <c>break</c> only in a range)
/// and the same error texts.
/// </summary>
internal sealed class TemplateParser
{
    private readonly string _name;
    private readonly string _text;
    private readonly List<Token> _tokens;
    private readonly Func<string, bool> _hasFunction;
    private readonly Dictionary<string, ListNode> _definitions;
    private readonly List<string> _vars = ["$"];
    private int _index;
    private int _rangeDepth;

    private TemplateParser(string name, string text, Func<string, bool> hasFunction, Dictionary<string, ListNode> definitions)
    {
        _name = name;
        _text = text;
        _tokens = TemplateLexer.Lex(name, text);
        _hasFunction = hasFunction;
        _definitions = definitions;
    }

    /// <summary>Parses <paramref name="text"/>; <c>define</c>d and <c>block</c> templates go into <paramref name="definitions"/>.</summary>
    public static ListNode Parse(string name, string text, Func<string, bool> hasFunction, Dictionary<string, ListNode> definitions) =>
        new TemplateParser(name, text, hasFunction, definitions).ParseRoot();

    private TemplateException Error(string message, int? offset = null) =>
        TemplateException.Parse(_name, TemplateLexer.LineOf(_text, offset ?? Peek().Offset), message);

    private Token Peek() => _tokens[_index];

    private Token Next() => _tokens[_index++];

    private void Backup() => _index--;

    private Token NextNonSpace()
    {
        var token = Next();
        while (token.Kind == TokenKind.Space)
        {
            token = Next();
        }

        return token;
    }

    private Token PeekNonSpace()
    {
        var token = NextNonSpace();
        Backup();
        return token;
    }

    private ListNode ParseRoot()
    {
        var root = new ListNode(0, []);
        while (Peek().Kind != TokenKind.Eof)
        {
            if (Peek().Kind == TokenKind.LeftDelim)
            {
                var mark = _index;
                Next();
                if (NextNonSpace() is { Kind: TokenKind.Keyword, Value: "define" } define)
                {
                    ParseDefinition(define);
                    continue;
                }

                _index = mark;
            }

            var node = TextOrAction();
            if (node is DelimiterNode d)
            {
                throw Error($"unexpected {d.Source}", d.Offset);
            }

            root.Nodes.Add(node);
        }

        return root;
    }

    private void ParseDefinition(Token define)
    {
        var name = NextNonSpace();
        if (name.Kind is not (TokenKind.String or TokenKind.RawString))
        {
            throw Error($"unexpected \"{name.Value}\" in define clause", name.Offset);
        }

        Expect(TokenKind.RightDelim, "define clause");
        var saved = _vars.ToList();
        _vars.Clear();
        _vars.Add("$");
        var (list, end) = ItemList();
        if (end.Keyword != "end")
        {
            throw Error($"unexpected {end.Source} in definition", end.Offset);
        }

        _vars.Clear();
        _vars.AddRange(saved);
        _definitions[TemplateLexer.Unquote(name.Value)] = list with { Offset = define.Offset };
    }

    private Token Expect(TokenKind kind, string context)
    {
        var token = NextNonSpace();
        if (token.Kind != kind)
        {
            throw Unexpected(token, context);
        }

        return token;
    }

    private TemplateException Unexpected(Token token, string context) => token.Kind switch
    {
        TokenKind.Eof => Error($"unexpected EOF in {context}", token.Offset),
        TokenKind.RightDelim => Error($"unexpected \"}}}}\" in {context}", token.Offset),
        _ => Error($"unexpected \"{token.Value}\" in {context}", token.Offset),
    };

    /// <summary>Nodes up to the next <c>{{end}}</c> or <c>{{else}}</c>, which is returned too.</summary>
    private (ListNode List, DelimiterNode End) ItemList()
    {
        var list = new ListNode(Peek().Offset, []);
        while (Peek().Kind != TokenKind.Eof)
        {
            var node = TextOrAction();
            if (node is DelimiterNode d)
            {
                return (list, d);
            }

            list.Nodes.Add(node);
        }

        throw Error("unexpected EOF");
    }

    private Node TextOrAction()
    {
        var token = Next();
        return token.Kind switch
        {
            TokenKind.Text => new TextNode(token.Offset, token.Value),
            TokenKind.LeftDelim => Action(),
            _ => throw Unexpected(token, "input"),
        };
    }

    private Node Action()
    {
        var token = NextNonSpace();
        if (token.Kind == TokenKind.Keyword)
        {
            switch (token.Value)
            {
                case "block":
                    return BlockControl(token);
                case "break" or "continue":
                    if (_rangeDepth == 0)
                    {
                        throw Error($"{{{{{token.Value}}}}} outside {{{{range}}}}", token.Offset);
                    }

                    Expect(TokenKind.RightDelim, token.Value);
                    return token.Value == "break" ? new BreakNode(token.Offset) : new ContinueNode(token.Offset);
                case "else":
                    // "else if" and "else with" keep the keyword for the enclosing control to read.
                    if (PeekNonSpace() is { Kind: TokenKind.Keyword, Value: "if" or "with" })
                    {
                        return new DelimiterNode(token.Offset, "else");
                    }

                    Expect(TokenKind.RightDelim, "else");
                    return new DelimiterNode(token.Offset, "else");
                case "end":
                    Expect(TokenKind.RightDelim, "end");
                    return new DelimiterNode(token.Offset, "end");
                case "if":
                    return Control(BranchKind.If, token);
                case "range":
                    return Control(BranchKind.Range, token);
                case "with":
                    return Control(BranchKind.With, token);
                case "template":
                    return TemplateControl(token);
                case "define":
                    throw Error("unexpected define: definitions are allowed only at the top level", token.Offset);
            }
        }

        Backup();
        return new ActionNode(token.Offset, Pipeline("command", TokenKind.RightDelim));
    }

    private BranchNode Control(BranchKind kind, Token keyword)
    {
        var context = kind.ToString().ToLowerInvariant();
        var mark = _vars.Count;
        try
        {
            var pipe = Pipeline(context, TokenKind.RightDelim);
            if (kind == BranchKind.Range)
            {
                _rangeDepth++;
            }

            var (list, next) = ItemList();
            if (kind == BranchKind.Range)
            {
                _rangeDepth--;
            }

            ListNode? elseList = null;
            if (next.Keyword == "else")
            {
                if (kind is BranchKind.If or BranchKind.With && PeekNonSpace() is { Kind: TokenKind.Keyword } chained && chained.Value == context)
                {
                    // "else if" / "else with": a nested control sharing this one's {{end}}.
                    NextNonSpace();
                    elseList = new ListNode(next.Offset, [Control(kind, chained)]);
                }
                else
                {
                    (elseList, var end) = ItemList();
                    if (end.Keyword != "end")
                    {
                        throw Error($"expected end; found {end.Source}", end.Offset);
                    }
                }
            }

            return new BranchNode(keyword.Offset, kind, pipe, list, elseList);
        }
        finally
        {
            _vars.RemoveRange(mark, _vars.Count - mark);
        }
    }

    private TemplateCallNode TemplateControl(Token keyword)
    {
        var name = NextNonSpace();
        if (name.Kind is not (TokenKind.String or TokenKind.RawString))
        {
            throw Unexpected(name, "template clause");
        }

        PipeNode? pipe = null;
        if (NextNonSpace().Kind != TokenKind.RightDelim)
        {
            Backup();
            pipe = Pipeline("template clause", TokenKind.RightDelim);
        }

        return new TemplateCallNode(keyword.Offset, TemplateLexer.Unquote(name.Value), pipe);
    }

    private TemplateCallNode BlockControl(Token keyword)
    {
        var name = NextNonSpace();
        if (name.Kind is not (TokenKind.String or TokenKind.RawString))
        {
            throw Unexpected(name, "block clause");
        }

        var pipe = Pipeline("block clause", TokenKind.RightDelim);
        var saved = _vars.ToList();
        _vars.Clear();
        _vars.Add("$");
        var (list, end) = ItemList();
        if (end.Keyword != "end")
        {
            throw Error($"unexpected {end.Source} in block clause", end.Offset);
        }

        _vars.Clear();
        _vars.AddRange(saved);
        var body = TemplateLexer.Unquote(name.Value);
        _definitions[body] = list;
        return new TemplateCallNode(keyword.Offset, body, pipe);
    }

    private PipeNode Pipeline(string context, TokenKind end)
    {
        var pipe = new PipeNode(PeekNonSpace().Offset, [], false, []);
        var isAssign = false;
        while (PeekNonSpace() is { Kind: TokenKind.Variable } v)
        {
            var mark = _index;
            NextNonSpace();
            var next = PeekNonSpace();
            if (next.Kind is TokenKind.Declare or TokenKind.Assign)
            {
                NextNonSpace();
                isAssign = next.Kind == TokenKind.Assign;
                pipe.Decl.Add(new VariableNode(v.Offset, v.Value, []));
                _vars.Add(v.Value);
                break;
            }

            if (next.Kind == TokenKind.Comma)
            {
                NextNonSpace();
                pipe.Decl.Add(new VariableNode(v.Offset, v.Value, []));
                _vars.Add(v.Value);
                if (context == "range" && pipe.Decl.Count < 2)
                {
                    if (PeekNonSpace().Kind is TokenKind.Variable or TokenKind.RightDelim or TokenKind.RightParen)
                    {
                        continue;
                    }

                    throw Error("range can only initialize variables");
                }

                throw Error($"too many declarations in {context}");
            }

            _index = mark;
            break;
        }

        pipe = pipe with { IsAssign = isAssign };
        while (true)
        {
            var token = NextNonSpace();
            if (token.Kind == end)
            {
                CheckPipeline(pipe, context);
                return pipe;
            }

            switch (token.Kind)
            {
                case TokenKind.Bool or TokenKind.Char or TokenKind.Dot or TokenKind.Field or TokenKind.Identifier or TokenKind.Number
                    or TokenKind.Nil or TokenKind.RawString or TokenKind.String or TokenKind.Variable or TokenKind.LeftParen:
                    Backup();
                    pipe.Commands.Add(Command());
                    break;
                default:
                    throw Unexpected(token, context);
            }
        }
    }

    private void CheckPipeline(PipeNode pipe, string context)
    {
        if (pipe.Commands.Count == 0)
        {
            throw Error($"missing value for {context}");
        }

        for (var i = 1; i < pipe.Commands.Count; i++)
        {
            if (pipe.Commands[i].Args[0] is BoolNode or DotNode or NilNode or NumberNode or StringNode)
            {
                throw Error($"non executable command in pipeline stage {i + 1}", pipe.Commands[i].Offset);
            }
        }
    }

    private CommandNode Command()
    {
        var command = new CommandNode(PeekNonSpace().Offset, []);
        while (true)
        {
            PeekNonSpace();
            if (Operand() is { } operand)
            {
                command.Args.Add(operand);
            }

            var token = Next();
            if (token.Kind == TokenKind.Space)
            {
                continue;
            }

            if (token.Kind is TokenKind.RightDelim or TokenKind.RightParen)
            {
                Backup();
            }
            else if (token.Kind != TokenKind.Pipe)
            {
                throw Unexpected(token, "operand");
            }

            break;
        }

        return command.Args.Count == 0 ? throw Error("empty command") : command;
    }

    private Node? Operand()
    {
        var node = Term();
        if (node is null || Peek().Kind != TokenKind.Field)
        {
            return node;
        }

        var at = Peek().Offset;
        var fields = new List<string>();
        while (Peek().Kind == TokenKind.Field)
        {
            fields.Add(Next().Value[1..]);
        }

        return node switch
        {
            FieldNode f => new FieldNode(f.Offset, [.. f.Names, .. fields]),
            VariableNode v => new VariableNode(v.Offset, v.Name, [.. v.Fields, .. fields]),
            BoolNode or StringNode or NumberNode or NilNode or DotNode => throw Error($"unexpected . after term {GoFormat.Quote(node.Source)}", at),
            _ => new ChainNode(at, node, [.. fields]),
        };
    }

    private Node? Term()
    {
        var token = NextNonSpace();
        switch (token.Kind)
        {
            case TokenKind.Identifier:
                return _hasFunction(token.Value) ? new IdentifierNode(token.Offset, token.Value) : throw Error($"function \"{token.Value}\" not defined", token.Offset);
            case TokenKind.Dot:
                return new DotNode(token.Offset);
            case TokenKind.Nil:
                return new NilNode(token.Offset);
            case TokenKind.Variable:
                return _vars.Contains(token.Value) ? new VariableNode(token.Offset, token.Value, []) : throw Error($"undefined variable \"{token.Value}\"", token.Offset);
            case TokenKind.Field:
                return new FieldNode(token.Offset, [token.Value[1..]]);
            case TokenKind.Bool:
                return new BoolNode(token.Offset, token.Value == "true");
            case TokenKind.Number or TokenKind.Char:
                return ParseNumber(token);
            case TokenKind.LeftParen:
                return Pipeline("parenthesized pipeline", TokenKind.RightParen);
            case TokenKind.String or TokenKind.RawString:
                try
                {
                    return new StringNode(token.Offset, TemplateLexer.Unquote(token.Value), token.Value);
                }
                catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
                {
                    throw Error("invalid syntax", token.Offset);
                }

            default:
                Backup();
                return null;
        }
    }

    private NumberNode ParseNumber(Token token)
    {
        var text = token.Value;
        if (token.Kind == TokenKind.Char)
        {
            string value;
            try
            {
                value = TemplateLexer.Unquote("\"" + text[1..^1].Replace("\\'", "'", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"");
            }
            catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
            {
                throw Error($"malformed character constant: {text}", token.Offset);
            }

            var runes = value.EnumerateRunes().ToList();
            return runes.Count == 1 ? new NumberNode(token.Offset, (long)runes[0].Value, text) : throw Error($"malformed character constant: {text}", token.Offset);
        }

        if (text.EndsWith('i'))
        {
            throw Error($"complex numbers are not supported: {text}", token.Offset);
        }

        var clean = text.Replace("_", "", StringComparison.Ordinal);
        var negative = clean.StartsWith('-');
        var digits = clean.TrimStart('+', '-');
        long? integer = null;
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && !digits.Contains('p', StringComparison.OrdinalIgnoreCase))
        {
            integer = ParseBase(digits[2..], 16);
        }
        else if (digits.StartsWith("0b", StringComparison.OrdinalIgnoreCase))
        {
            integer = ParseBase(digits[2..], 2);
        }
        else if (digits.StartsWith("0o", StringComparison.OrdinalIgnoreCase))
        {
            integer = ParseBase(digits[2..], 8);
        }
        else if (digits.Length > 1 && digits[0] == '0' && digits.All(char.IsAsciiDigit))
        {
            integer = ParseBase(digits[1..], 8);
        }
        else if (digits.Length > 0 && digits.All(char.IsAsciiDigit))
        {
            integer = long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
            if (integer is null)
            {
                throw Error($"integer overflow: {text}", token.Offset);
            }
        }

        if (integer is { } i)
        {
            return new NumberNode(token.Offset, negative ? -i : i, text);
        }

        if (double.TryParse(clean, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && !digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return new NumberNode(token.Offset, d, text);
        }

        throw Error($"bad number syntax: \"{text}\"", token.Offset);

        long? ParseBase(string body, int radix)
        {
            if (body.Length == 0)
            {
                throw Error($"bad number syntax: \"{text}\"", token.Offset);
            }

            BigInteger value = 0;
            foreach (var c in body)
            {
                var digit = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetter(c) ? char.ToLowerInvariant(c) - 'a' + 10 : 99;
                if (digit >= radix)
                {
                    throw Error($"bad number syntax: \"{text}\"", token.Offset);
                }

                value = value * radix + digit;
            }

            return value <= long.MaxValue ? (long)value : throw Error($"integer overflow: {text}", token.Offset);
        }
    }
}
