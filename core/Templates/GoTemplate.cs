using System.Text;

namespace EnvFabric.Core.Templates;

/// <summary>What a field lookup does with a key the map lacks (Go's <c>missingkey</c> option).</summary>
public enum MissingKeyMode
{
    /// <summary>Go's default: the value is missing, printed <c>&lt;no value&gt;</c>.</summary>
    Default,

    /// <summary>The zero value (nil for JSON data).</summary>
    Zero,

    /// <summary>Execution stops with an error naming the key.</summary>
    Error,
}

/// <summary>Limits and options of one execution.</summary>
public sealed record TemplateOptions
{
    /// <summary>Missing map keys are errors by default: a schema that names a parameter nobody gave is a mistake.</summary>
    public MissingKeyMode MissingKey { get; init; } = MissingKeyMode.Error;

    /// <summary>Output longer than this many characters stops the execution.</summary>
    public int MaxOutputChars { get; init; } = 1 << 20;

    /// <summary>Evaluation steps (commands and nodes) allowed, so a huge <c>range</c> cannot hold a thread.</summary>
    public long MaxSteps { get; init; } = 1_000_000;

    /// <summary>Nesting of <c>{{template}}</c> calls allowed.</summary>
    public int MaxDepth { get; init; } = 100;
}

/// <summary>
/// A parse or execution error, with Go's message (<c>template: NAME:LINE: ...</c> when parsing,
/// <c>template: NAME:LINE:COL: executing "NAME" at &lt;NODE&gt;: ...</c> when executing) and its parts.
/// </summary>
public sealed class TemplateException : Exception
{
    private TemplateException(string message, string templateName, int line, int? column, string reason, string? node, string? key)
        : base(message)
    {
        TemplateName = templateName;
        Line = line;
        Column = column;
        Reason = reason;
        Node = node;
        Key = key;
    }

    public TemplateException()
        : this("template error", "", 0, null, "template error", null, null)
    {
    }

    public TemplateException(string message)
        : this(message, "", 0, null, message, null, null)
    {
    }

    public TemplateException(string message, Exception innerException)
        : base(message, innerException)
    {
        TemplateName = "";
        Reason = message;
    }

    /// <summary>The template's name.</summary>
    public string TemplateName { get; }

    /// <summary>The 1-based line of the error.</summary>
    public int Line { get; }

    /// <summary>The 0-based byte column, for execution errors (as Go counts it).</summary>
    public int? Column { get; }

    /// <summary>The error without its location.</summary>
    public string Reason { get; }

    /// <summary>The action being executed, as template source.</summary>
    public string? Node { get; }

    /// <summary>The missing map key, for a missing-key error.</summary>
    public string? Key { get; }

    internal static TemplateException Parse(string name, int line, string reason) =>
        new($"template: {name}:{line}: {reason}", name, line, null, reason, null, null);

    internal static TemplateException Execution(string name, string executing, int line, int column, string node, string reason, string? key) =>
        new($"template: {name}:{line}:{column}: executing \"{executing}\" at <{node}>: {reason}", name, line, column, reason, node, key);

    internal static TemplateException Execution(string name, string reason) =>
        new($"template: {name}: {reason}", name, 0, null, reason, null, null);
}

/// <summary>
/// A Go <c>text/template</c>, parsed once and executed against JSON-shaped data (<see cref="TemplateValues"/>).
/// It implements the language (text and actions, trim markers, comments, pipelines, variables, <c>if</c> /
/// <c>else if</c> / <c>else</c>, <c>range</c> with <c>break</c> and <c>continue</c>, <c>with</c> / <c>else
/// with</c>, <c>define</c>, <c>template</c>, <c>block</c>) and the functions of
/// <see cref="TemplateFunctions"/>, with Go's error texts. One difference from Go: numbers compare by value
/// whatever their kind (<c>eq 2 2.0</c> is true), since JSON does not tell integers from floats.
/// </summary>
public sealed class GoTemplate
{
    private readonly string _text;
    private readonly ListNode _root;
    private readonly Dictionary<string, ListNode> _definitions;

    private GoTemplate(string name, string text, ListNode root, Dictionary<string, ListNode> definitions)
    {
        Name = name;
        _text = text;
        _root = root;
        _definitions = definitions;
    }

    /// <summary>The template's name, used in error messages.</summary>
    public string Name { get; }

    /// <summary>Parses <paramref name="text"/>; throws <see cref="TemplateException"/> with Go's message when it is not a valid template.</summary>
    public static GoTemplate Parse(string name, string text)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(text);
        var definitions = new Dictionary<string, ListNode>(StringComparer.Ordinal);
        var root = TemplateParser.Parse(name, text, TemplateFunctions.Exists, definitions);
        return new GoTemplate(name, text, root, definitions);
    }

    /// <summary>Names of the templates defined with <c>define</c> or <c>block</c>.</summary>
    public IReadOnlyCollection<string> Definitions => _definitions.Keys;

    /// <summary>Executes the template with <paramref name="data"/> as dot; throws <see cref="TemplateException"/>.</summary>
    public string Execute(object? data, TemplateOptions? options = null)
    {
        var state = new TemplateExecutor(this, options ?? new TemplateOptions());
        return state.Run(data);
    }

    internal string Text => _text;

    internal ListNode Root => _root;

    internal bool TryGetDefinition(string name, out ListNode list) => _definitions.TryGetValue(name, out list!);
}

/// <summary>One execution of a <see cref="GoTemplate"/>: Go's <c>exec.go</c> state machine.</summary>
internal sealed class TemplateExecutor(GoTemplate template, TemplateOptions options)
{
    /// <summary>No value at all (Go's invalid <c>reflect.Value</c>): the pipeline's initial "final" argument.</summary>
    private static readonly object Missing = new();

    private readonly StringBuilder _output = new();
    private readonly List<(string Name, object? Value)> _vars = [];
    private string _executing = template.Name;
    private Node? _node;
    private long _steps;
    private int _depth;

    private enum Flow
    {
        Normal,
        Break,
        Continue,
    }

    public string Run(object? data)
    {
        _vars.Add(("$", data));
        Walk(data, template.Root);
        return _output.ToString();
    }

    private TemplateException Error(string reason, string? key = null)
    {
        if (_node is null)
        {
            return TemplateException.Execution(template.Name, reason);
        }

        var text = template.Text;
        var offset = Math.Min(_node.Offset, text.Length);
        var lastNewline = text.LastIndexOf('\n', Math.Max(offset - 1, 0));
        if (offset == 0 || lastNewline < 0)
        {
            lastNewline = -1;
        }

        var column = Encoding.UTF8.GetByteCount(text.AsSpan(lastNewline + 1, offset - lastNewline - 1));
        return TemplateException.Execution(template.Name, _executing, TemplateLexer.LineOf(text, offset), column, _node.Source, reason, key);
    }

    private void Step()
    {
        if (++_steps > options.MaxSteps)
        {
            throw Error($"execution took more than {options.MaxSteps} steps");
        }
    }

    private void Write(string text)
    {
        if (_output.Length + text.Length > options.MaxOutputChars)
        {
            throw Error($"output is longer than {options.MaxOutputChars} characters");
        }

        _output.Append(text);
    }

    private Flow Walk(object? dot, Node node)
    {
        Step();
        switch (node)
        {
            case ListNode list:
                foreach (var child in list.Nodes)
                {
                    var flow = Walk(dot, child);
                    if (flow != Flow.Normal)
                    {
                        return flow;
                    }
                }

                return Flow.Normal;
            case TextNode text:
                Write(text.Text);
                return Flow.Normal;
            case ActionNode action:
                var value = EvalPipeline(dot, action.Pipe);
                if (action.Pipe.Decl.Count == 0)
                {
                    Write(value == Missing || value is null ? "<no value>" : GoFormat.Value(value));
                }

                return Flow.Normal;
            case BranchNode { Kind: BranchKind.Range } range:
                return WalkRange(dot, range);
            case BranchNode branch:
                return WalkIfOrWith(dot, branch);
            case TemplateCallNode call:
                WalkTemplate(dot, call);
                return Flow.Normal;
            case BreakNode:
                return Flow.Break;
            case ContinueNode:
                return Flow.Continue;
            default:
                throw Error($"unknown node: {node.Source}");
        }
    }

    private Flow WalkIfOrWith(object? dot, BranchNode branch)
    {
        var mark = _vars.Count;
        try
        {
            var value = EvalPipeline(dot, branch.Pipe);
            var truth = value != Missing && TemplateValues.IsTrue(value);
            if (truth)
            {
                return Walk(branch.Kind == BranchKind.With ? value : dot, branch.List);
            }

            return branch.Else is null ? Flow.Normal : Walk(dot, branch.Else);
        }
        finally
        {
            Pop(mark);
        }
    }

    private Flow WalkRange(object? dot, BranchNode range)
    {
        var start = _vars.Count;
        try
        {
            _node = range;
            var value = EvalPipeline(dot, range.Pipe);
            var mark = _vars.Count;
            var decl = range.Pipe.Decl;
            var iterated = false;

            bool OneIteration(object? index, object? element)
            {
                iterated = true;
                if (decl.Count > 0)
                {
                    if (range.Pipe.IsAssign)
                    {
                        SetVar(decl[0].Name, decl.Count > 1 ? index : element);
                    }
                    else
                    {
                        SetTopVar(1, element);
                    }
                }

                if (decl.Count > 1)
                {
                    if (range.Pipe.IsAssign)
                    {
                        SetVar(decl[1].Name, element);
                    }
                    else
                    {
                        SetTopVar(2, index);
                    }
                }

                try
                {
                    return Walk(element, range.List) != Flow.Break;
                }
                finally
                {
                    Pop(mark);
                }
            }

            switch (value)
            {
                case IReadOnlyList<object?> list:
                    for (var i = 0; i < list.Count && OneIteration((long)i, list[i]); i++)
                    {
                    }

                    break;
                case IReadOnlyDictionary<string, object?> map:
                    foreach (var key in map.Keys.Order(StringComparer.Ordinal).ToList())
                    {
                        if (!OneIteration(key, map[key]))
                        {
                            break;
                        }
                    }

                    break;
                case long count:
                    if (decl.Count > 1)
                    {
                        _node = range;
                        throw Error("can't use 2 variables to range over an integer");
                    }

                    for (long i = 0; i < count && OneIteration(i, i); i++)
                    {
                    }

                    break;
                case null:
                    break;
                default:
                    if (value == Missing)
                    {
                        break;
                    }

                    _node = range;
                    throw Error($"range can't iterate over {GoFormat.Value(value)}");
            }

            if (!iterated && range.Else is not null)
            {
                return Walk(dot, range.Else);
            }

            return Flow.Normal;
        }
        finally
        {
            Pop(start);
        }
    }

    private void WalkTemplate(object? dot, TemplateCallNode call)
    {
        _node = call;
        if (!template.TryGetDefinition(call.Name, out var body))
        {
            throw Error($"no such template \"{call.Name}\"");
        }

        if (_depth >= options.MaxDepth)
        {
            throw Error($"exceeded maximum template depth ({options.MaxDepth})");
        }

        var value = call.Pipe is null ? null : EvalPipeline(dot, call.Pipe);
        if (value == Missing)
        {
            value = null;
        }

        var savedVars = _vars.ToList();
        var savedName = _executing;
        _vars.Clear();
        _vars.Add(("$", value));
        _executing = call.Name;
        _depth++;
        try
        {
            Walk(value, body);
        }
        finally
        {
            _depth--;
            _executing = savedName;
            _vars.Clear();
            _vars.AddRange(savedVars);
        }
    }

    private void Pop(int mark) => _vars.RemoveRange(mark, _vars.Count - mark);

    private void SetVar(string name, object? value)
    {
        for (var i = _vars.Count - 1; i >= 0; i--)
        {
            if (_vars[i].Name == name)
            {
                _vars[i] = (name, value);
                return;
            }
        }

        throw Error($"undefined variable: {name}");
    }

    private void SetTopVar(int n, object? value) => _vars[^n] = (_vars[^n].Name, value);

    private object? VarValue(string name)
    {
        for (var i = _vars.Count - 1; i >= 0; i--)
        {
            if (_vars[i].Name == name)
            {
                return _vars[i].Value;
            }
        }

        throw Error($"undefined variable: {name}");
    }

    private object? EvalPipeline(object? dot, PipeNode pipe)
    {
        _node = pipe;
        var value = Missing;
        foreach (var command in pipe.Commands)
        {
            value = EvalCommand(dot, command, value);
        }

        foreach (var variable in pipe.Decl)
        {
            var stored = value == Missing ? null : value;
            if (pipe.IsAssign)
            {
                SetVar(variable.Name, stored);
            }
            else
            {
                _vars.Add((variable.Name, stored));
            }
        }

        return value;
    }

    private object? EvalCommand(object? dot, CommandNode command, object? final)
    {
        Step();
        var first = command.Args[0];
        switch (first)
        {
            case FieldNode field:
                return EvalFieldChain(dot, dot, field, field.Names, command.Args, final);
            case ChainNode chain:
                return EvalChain(dot, chain, command.Args, final);
            case IdentifierNode identifier:
                return EvalFunction(dot, identifier, command, command.Args, final);
            case PipeNode pipe:
                NotAFunction(command.Args, final);
                return EvalPipeline(dot, pipe);
            case VariableNode variable:
                return EvalVariable(dot, variable, command.Args, final);
        }

        _node = first;
        NotAFunction(command.Args, final);
        return first switch
        {
            BoolNode b => b.Value,
            DotNode => dot,
            NilNode => throw Error("nil is not a command"),
            NumberNode n => n.Value,
            StringNode s => s.Value,
            _ => throw Error($"can't evaluate command {first.Source}"),
        };
    }

    private void NotAFunction(List<Node> args, object? final)
    {
        if (args.Count > 1 || final != Missing)
        {
            throw Error($"can't give argument to non-function {args[0].Source}");
        }
    }

    private object? EvalChain(object? dot, ChainNode chain, List<Node>? args, object? final)
    {
        _node = chain;
        if (chain.Target is NilNode)
        {
            throw Error($"indirection through explicit nil in {chain.Source}");
        }

        var receiver = EvalArg(dot, chain.Target);
        _node = chain;
        return EvalFieldChain(dot, receiver, chain, chain.Fields, args, final);
    }

    private object? EvalVariable(object? dot, VariableNode variable, List<Node>? args, object? final)
    {
        _node = variable;
        var value = VarValue(variable.Name);
        if (variable.Fields.Length == 0)
        {
            if (args is not null)
            {
                NotAFunction(args, final);
            }

            return value;
        }

        return EvalFieldChain(dot, value, variable, variable.Fields, args, final);
    }

    private object? EvalFieldChain(object? dot, object? receiver, Node node, string[] names, List<Node>? args, object? final)
    {
        _node = node;
        for (var i = 0; i < names.Length - 1; i++)
        {
            receiver = EvalField(names[i], null, Missing, receiver);
        }

        return EvalField(names[^1], args, final, receiver);
    }

    private object? EvalField(string name, List<Node>? args, object? final, object? receiver)
    {
        switch (receiver)
        {
            case IReadOnlyDictionary<string, object?> map:
                if ((args is not null && args.Count > 1) || final != Missing)
                {
                    throw Error($"{name} is not a method but has arguments");
                }

                if (map.TryGetValue(name, out var value))
                {
                    return value;
                }

                return options.MissingKey == MissingKeyMode.Error ? throw Error($"map has no entry for key \"{name}\"", name) : null;
            case null:
                throw Error($"nil pointer evaluating interface {{}}.{name}", name);
            default:
                if (receiver == Missing)
                {
                    throw Error($"nil data; no entry for key \"{name}\"", name);
                }

                throw Error($"can't evaluate field {name} in type {TemplateValues.TypeName(receiver)}");
        }
    }

    private object? EvalFunction(object? dot, IdentifierNode identifier, CommandNode command, List<Node> args, object? final)
    {
        _node = identifier;
        var function = TemplateFunctions.Get(identifier.Name);
        var count = args.Count - 1 + (final == Missing ? 0 : 1);
        if (count < function.Min || (function.Max is { } max && count > max))
        {
            _node = command;
            throw Error(function.Max == function.Min
                ? $"wrong number of args for {function.Name}: want {function.Min} got {count}"
                : $"wrong number of args for {function.Name}: want at least {function.Min} got {count}");
        }

        if (function.Name is "and" or "or")
        {
            // Evaluated left to right, stopping at the first argument that decides.
            object? value = null;
            var operands = args.Skip(1).Select(a => (Node?)a).ToList();
            if (final != Missing)
            {
                operands.Add(null);
            }

            foreach (var operand in operands)
            {
                value = operand is null ? final : EvalArg(dot, operand);
                var truth = TemplateValues.IsTrue(value);
                if (function.Name == "and" ? !truth : truth)
                {
                    return value;
                }
            }

            return value;
        }

        var values = new List<object?>(count);
        foreach (var arg in args.Skip(1))
        {
            values.Add(EvalArg(dot, arg));
        }

        if (final != Missing)
        {
            values.Add(final);
        }

        _node = command;
        try
        {
            return function.Call(values);
        }
        catch (TemplateFunctionException ex)
        {
            throw Error($"error calling {function.Name}: {ex.Message}");
        }
    }

    private object? EvalArg(object? dot, Node node)
    {
        _node = node;
        var value = node switch
        {
            DotNode => dot,
            NilNode => null,
            FieldNode field => EvalFieldChain(dot, dot, field, field.Names, [node], Missing),
            VariableNode variable => EvalVariable(dot, variable, null, Missing),
            PipeNode pipe => EvalPipeline(dot, pipe),
            IdentifierNode identifier => EvalFunction(dot, identifier, new CommandNode(identifier.Offset, [identifier]), [identifier], Missing),
            ChainNode chain => EvalChain(dot, chain, null, Missing),
            BoolNode b => b.Value,
            NumberNode n => n.Value,
            StringNode s => s.Value,
            _ => throw Error($"can't handle {node.Source} for arg"),
        };
        return value == Missing ? null : value;
    }
}
