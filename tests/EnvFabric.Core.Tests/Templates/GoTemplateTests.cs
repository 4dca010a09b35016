using System.Text.Json.Nodes;
using EnvFabric.Core.Templates;

namespace EnvFabric.Core.Tests.Templates;

/// <summary>
/// Cases from Go's own <c>text/template</c> tests (exec_test.go, parse_test.go), with Go's data translated to
/// JSON-shaped data: structs become maps, Go ints become integers, and a missing map entry of a
/// <c>map[string]int</c> (printed <c>0</c> by Go) prints <c>&lt;no value&gt;</c> as for <c>map[string]any</c>.
/// </summary>
public sealed class GoTemplateTests
{
    private static readonly object? Data = TemplateValues.FromJson(JsonNode.Parse("""
        {
          "True": true, "I": 17, "U16": 16, "X": "x", "S": "xyz", "FloatZero": 0.0, "Empty0": null,
          "U": {"V": "v"},
          "SI": [3, 4, 5], "SIEmpty": [], "SB": [true, false], "Empty3": [7, 8],
          "MSI": {"one": 1, "two": 2, "three": 3}, "MSIone": {"one": 1}, "MSIEmpty": {}, "MXI": {"one": 1},
          "SMSI": [{"one": 1, "two": 2}, {"eleven": 11, "twelve": 12}],
          "PSI": [21, 22, 23], "cause": "neglect"
        }
        """));

    private static string Run(string text, object? data = null, MissingKeyMode missing = MissingKeyMode.Default) =>
        GoTemplate.Parse("test", text).Execute(data ?? Data, new TemplateOptions { MissingKey = missing });

    public static TheoryData<string, string> Outputs => new()
    {
        // Fields, dot, variables.
        { "", "" },
        { "some text", "some text" },
        { "-{{.X}}-", "-x-" },
        { "-{{.U.V}}-", "-v-" },
        { "{{.cause}}", "neglect" },
        { "{{$.I}}", "17" },
        { "{{$.U.V}}", "v" },
        { "{{$x := $.U.V}}{{$x}}", "v" },
        { "{{$x := 2}}{{$x = 3}}{{$x}}", "3" },
        { "{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{$x}}", "3" },
        { "{{$x := 1}}{{if true}}{{$x := 2}}{{if true}}{{$x = 3}}{{end}}{{end}}{{$x}}", "1" },
        { "{{($).X}}", "x" },
        { "{{(index .SMSI 1).eleven}}", "11" },

        // If.
        { "{{if true}}TRUE{{end}}", "TRUE" },
        { "{{if false}}TRUE{{else}}FALSE{{end}}", "FALSE" },
        { "{{if 1}}NON-ZERO{{else}}ZERO{{end}}", "NON-ZERO" },
        { "{{if 0}}NON-ZERO{{else}}ZERO{{end}}", "ZERO" },
        { "{{if 1.5}}NON-ZERO{{else}}ZERO{{end}}", "NON-ZERO" },
        { "{{if .FloatZero}}NON-ZERO{{else}}ZERO{{end}}", "ZERO" },
        { "{{if ``}}NON-EMPTY{{else}}EMPTY{{end}}", "EMPTY" },
        { "{{if `notempty`}}NON-EMPTY{{else}}EMPTY{{end}}", "NON-EMPTY" },
        { "{{if .SIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}", "EMPTY" },
        { "{{if .SI}}NON-EMPTY{{else}}EMPTY{{end}}", "NON-EMPTY" },
        { "{{if .MSIEmpty}}NON-EMPTY{{else}}EMPTY{{end}}", "EMPTY" },
        { "{{if .MSI}}NON-EMPTY{{else}}EMPTY{{end}}", "NON-EMPTY" },
        { "{{if .MXI.none}}NON-ZERO{{else}}ZERO{{end}}", "ZERO" },
        { "{{if not .MXI.none}}ZERO{{else}}NON-ZERO{{end}}", "ZERO" },
        { "{{if $x := true}}{{with $y := .I}}{{$x}},{{$y}}{{end}}{{end}}", "true,17" },
        { "{{if $x := true}}{{with $x := .I}}{{$x}},{{end}}{{$x}}{{end}}", "17,true" },
        { "{{if false}}FALSE{{else if true}}TRUE{{end}}", "TRUE" },
        { "{{if eq 1 3}}1{{else if eq 2 3}}2{{else if eq 3 3}}3{{end}}", "3" },

        // Print.
        { "{{print \"hello, print\"}}", "hello, print" },
        { "{{print 1 2 3}}", "1 2 3" },
        { "{{print nil}}", "<nil>" },
        { "{{print \"a\" 1 2 \"b\"}}", "a1 2b" },
        { "{{println 1 2 3}}", "1 2 3\n" },
        { "{{printf \"%04x\" 127}}", "007f" },
        { "{{printf \"%g\" 3.5}}", "3.5" },
        { "{{printf \"%s\" \"hello\"}}", "hello" },
        { "{{printf \"%#q\" \"zeroArgs\"}}", "`zeroArgs`" },
        { "{{printf \"%s\" .U.V}}", "v" },
        { "{{with .I}}{{printf \"%d\" .}}{{end}}", "17" },
        { "{{with $x := .I}}{{printf \"%d\" $x}}{{end}}", "17" },
        { "{{printf \"%d %s %g %s\" 127 \"hello\" 7.5 .X}}", "127 hello 7.5 x" },
        { "{{printf \"%T\" 0xef}}", "int" },
        { "{{\"aaa\"|printf }}", "aaa" },
        { "{{print (.SI)}}", "[3 4 5]" },

        // HTML and URL query.
        { "{{html \"<script>alert(\\\"XSS\\\");</script>\"}}", "&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;" },
        { "{{printf \"<script>alert(\\\"XSS\\\");</script>\" | html}}", "&lt;script&gt;alert(&#34;XSS&#34;);&lt;/script&gt;" },
        { "{{\"http://www.example.org/\"|urlquery}}", "http%3A%2F%2Fwww.example.org%2F" },

        // Booleans.
        { "{{not true}} {{not false}}", "false true" },
        { "{{and false 0}} {{and 1 0}} {{and 0 true}} {{and 1 1}}", "false 0 0 1" },
        { "{{or 0 0}} {{or 1 0}} {{or 0 true}} {{or 1 1}}", "0 1 true 1" },
        { "{{if and true 1 `hi`}}TRUE{{else}}FALSE{{end}}", "TRUE" },
        { "{{if and true 1 `hi` | not}}TRUE{{else}}FALSE{{end}}", "FALSE" },
        { "{{or .SI \"slice is empty\"}}", "[3 4 5]" },
        { "{{or .SIEmpty \"slice is empty\"}}", "slice is empty" },
        // and/or stop at the deciding argument: the failing index is never evaluated.
        { "{{and false (index .SI 10)}}", "false" },
        { "{{or 1 (index .SI 10)}}", "1" },

        // Index and len.
        { "{{index .SI 0}}", "3" },
        { "{{index .SI 1}}", "4" },
        { "{{index .MSI `one`}}", "1" },
        { "{{index .MSI `two`}}", "2" },
        { "{{index .MSI `XXX`}}", "<no value>" },
        { "{{index .MSI ``}}", "<no value>" },
        { "{{index .SMSI 1 `eleven`}}", "11" },
        { "{{index \"hi\" 0}}", "104" },
        { "{{len .SI}}", "3" },
        { "{{len .MSI }}", "3" },
        { "{{len \"héllo\"}}", "6" },
        { "{{slice .SI 1 2}}", "[4]" },
        { "{{slice \"abcdef\" 2}}", "cdef" },

        // With.
        { "{{with true}}{{.}}{{end}}", "true" },
        { "{{with false}}{{.}}{{else}}FALSE{{end}}", "FALSE" },
        { "{{with 1}}{{.}}{{else}}ZERO{{end}}", "1" },
        { "{{with 0}}{{.}}{{else}}ZERO{{end}}", "ZERO" },
        { "{{with 1.5}}{{.}}{{else}}ZERO{{end}}", "1.5" },
        { "{{with .FloatZero}}{{.}}{{else}}ZERO{{end}}", "ZERO" },
        { "{{with ``}}{{.}}{{else}}EMPTY{{end}}", "EMPTY" },
        { "{{with `notempty`}}{{.}}{{else}}EMPTY{{end}}", "notempty" },
        { "{{with .SIEmpty}}{{.}}{{else}}EMPTY{{end}}", "EMPTY" },
        { "{{with .SI}}{{.}}{{else}}EMPTY{{end}}", "[3 4 5]" },
        { "{{with .MSIEmpty}}{{.}}{{else}}EMPTY{{end}}", "EMPTY" },
        { "{{with .MSIone}}{{.}}{{else}}EMPTY{{end}}", "map[one:1]" },
        { "{{with $x := .I}}{{$x}}{{end}}", "17" },
        { "{{with $x := $}}{{$x.U.V}}{{end}}", "v" },
        { "{{with $x := $}}{{$y := $.U.V}}{{$y}}{{end}}", "v" },
        { "{{with .SIEmpty}}A{{else with .SI}}{{index . 0}}{{end}}", "3" },

        // Range.
        { "{{range .SI}}-{{.}}-{{end}}", "-3--4--5-" },
        { "{{range .SIEmpty}}-{{.}}-{{end}}", "" },
        { "{{range .SI}}-{{.}}-{{else}}EMPTY{{end}}", "-3--4--5-" },
        { "{{range .SIEmpty}}-{{.}}-{{else}}EMPTY{{end}}", "EMPTY" },
        { "{{range .SB}}-{{.}}-{{end}}", "-true--false-" },
        { "{{range .MSI}}-{{.}}-{{end}}", "-1--3--2-" },
        { "{{range .MSIEmpty}}-{{.}}-{{end}}", "" },
        { "{{range .MSIEmpty}}-{{.}}-{{else}}EMPTY{{end}}", "EMPTY" },
        { "{{range .Empty3}}-{{.}}-{{else}}EMPTY{{end}}", "-7--8-" },
        { "{{range .Empty0}}-{{.}}-{{end}}", "" },
        { "{{range $x := .SI}}<{{$x}}>{{end}}", "<3><4><5>" },
        { "{{range $x, $y := .SI}}<{{$x}}={{$y}}>{{end}}", "<0=3><1=4><2=5>" },
        { "{{range $x := .MSIone}}<{{$x}}>{{end}}", "<1>" },
        { "{{range $x, $y := .MSIone}}<{{$x}}={{$y}}>{{end}}", "<one=1>" },
        { "{{range $x := .PSI}}<{{$x}}>{{end}}", "<21><22><23>" },
        { "{{range $x := .PSI}}<{{$foo:=$x}}{{$x}}>{{end}}", "<21><22><23>" },
        { "{{range $i := 3}}{{$i}}{{end}}", "012" },
        { "{{range .SI}}{{if eq . 3}}{{continue}}{{end}}-{{.}}-{{end}}", "-4--5-" },
        { "{{range .SI}}{{if eq . 4}}{{break}}{{end}}-{{.}}-{{end}}", "-3-" },
        { "{{range .MSIone}}{{if $.True}}X{{end}}{{end}}", "X" },

        // Trim markers and comments.
        { "x \r\n\t{{- 3}}", "x3" },
        { "{{3 -}}\n\n\ty", "3y" },
        { "x \r\n\t{{- 3 -}}\n\n\ty", "x3y" },
        { "x \r\n\t{{- /* hi */}}", "x" },
        { "{{/* hi */ -}}\n\n\ty", "y" },
        { "{{-3}}", "-3" },
        { "a{{/* a comment */}}b", "ab" },

        // Define, template, block.
        { "{{define \"T1\"}}ONE{{end}}{{template \"T1\"}}", "ONE" },
        { "{{define \"T1\"}}[{{.}}]{{end}}{{template \"T1\" .I}}", "[17]" },
        { "{{define \"T1\"}}{{$}}{{end}}{{$x := 1}}{{template \"T1\" .X}}", "x" },
        { "a({{block \"inner\" .X}}bar({{.}})baz{{end}})b", "a(bar(x)baz)b" },

        // Comparisons, from Go's cmpTests.
        { "{{eq true true}} {{eq true false}} {{eq 1.5 1.5}} {{eq 1.5 2.5}} {{eq 1 1}} {{eq 1 2}}", "true false true false true false" },
        { "{{eq `xy` `xy`}} {{eq `xy` `xyz`}} {{eq 3 4 5 6 3}} {{eq 3 4 5 6 7}}", "true false true false" },
        { "{{ne true true}} {{ne 1.5 2.5}} {{ne 1 1}} {{ne `xy` `xyz`}}", "false true false true" },
        { "{{lt 1.5 1.5}} {{lt 1.5 2.5}} {{lt 1 1}} {{lt 1 2}} {{lt `xy` `xy`}} {{lt `xy` `xyz`}}", "false true false true false true" },
        { "{{le 1.5 1.5}} {{le 2.5 1.5}} {{le 1 2}} {{le 2 1}} {{le `xyz` `xy`}}", "true false true false false" },
        { "{{gt 1.5 1.5}} {{gt 2 1}} {{gt 1 2}} {{gt `xy` `xyz`}}", "false true false false" },
        { "{{ge 1.5 1.5}} {{ge 1.5 2.5}} {{ge 2 1}} {{ge `xyz` `xy`}}", "true false true true" },
        { "{{eq (index `x` 0) 'x'}} {{eq (index `x` 0) 'y'}}", "true false" },
        { "{{eq -1 3}} {{lt -1 3}}", "false true" },
        // The one difference from Go: JSON numbers compare by value (Go refuses int against float).
        { "{{eq 2 2.0}} {{lt 2 2.5}}", "true true" },
        { "{{eq .Empty0 nil}}", "true" },

        // Go's float printing (%v is strconv's shortest %g).
        { "{{1000000.0}} {{123456.0}} {{1234567.0}} {{100.0}} {{0.1}} {{0.000012}} {{-2.5}}", "1e+06 123456 1.234567e+06 100 0.1 1.2e-05 -2.5" },
        { "{{printf \"%.2f|%e|%.3g|%8.3f|%-8.2f|\" 3.14159 1234.5678 3.14159 2.5 2.5}}", "3.14|1.234568e+03|3.14|   2.500|2.50    |" },
        { "{{printf \"%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%c|%q\" 42 42 42 42 255 255 8 5 65 65}}", "   42|42   |00042|+42|ff|FF|10|101|A|'A'" },
        { "{{printf \"%q|%v|%t|%5s|%-5s|%.2s\" \"a\\\"b\\n\" .SI true \"ab\" \"ab\" \"abc\"}}", "\"a\\\"b\\n\"|[3 4 5]|true|   ab|ab   |ab" },
        { "{{printf \"%d\" \"x\"}} {{printf \"%d %d\" 1}} {{printf \"%d\" 1 2}}", "%!d(string=x) 1 %!d(MISSING) 1%!(EXTRA int=2)" },
        { "{{printf \"%T %T %T %T %T\" 1 1.5 .SI .MSI true}}", "int float64 []interface {} map[string]interface {} bool" },
        { "{{printf \"%s\" .SI}}", "[%!s(int=3) %!s(int=4) %!s(int=5)]" },
        { "{{printf \"%v %d%%\" .MSIone 50}}", "map[one:1] 50%" },

        // Sprig's default, quote and toJson.
        { "{{index .MSI \"missing\" | default \"d\"}}", "d" },
        { "{{\"\" | default \"d\"}} {{0 | default 5}} {{default \"d\" \"given\"}} {{.SIEmpty | default \"none\"}}", "d 5 given none" },
        { "{{quote \"a\" 1 nil \"b\\\"c\"}}", "\"a\" \"1\" \"b\\\"c\"" },
        { "{{.S | quote}}", "\"xyz\"" },
        { "{{toJson .MSIone}} {{toJson .SI}} {{toJson \"<a&b>\"}} {{toJson 1.5}} {{toJson .Empty0}} {{toJson 0.0000001}}", "{\"one\":1} [3,4,5] \"\\u003ca\\u0026b\\u003e\" 1.5 null 1e-7" },
    };

    [Theory]
    [MemberData(nameof(Outputs))]
    public void Execute_GivesGoOutput(string text, string expected) => Assert.Equal(expected, Run(text));

    public static TheoryData<string> ExecutionErrors => new()
    {
        "{{if nil}}TRUE{{end}}",
        "{{index .SI 10}}",
        "{{index .SI `hello`}}",
        "{{index .SI nil}}",
        "{{index .MSI nil}}",
        "{{index .MSI 10}}",
        "{{index nil 1}}",
        "{{len 3}}",
        "{{len .Empty0}}",
        "{{3 2}}",
        "{{$x := 1}}{{$x 2}}",
        "{{$x := 1}}{{3 | $x}}",
        "{{(nil).True}}",
        "{{$x := nil}}{{$x.anything}}",
        "{{$x := (1.0)}}{{$y := (\"hello\")}}{{$x.anything}}{{$y.true}}",
        "{{true|printf}}",
        "{{1|printf}}",
        "{{1.1|printf}}",
        "{{'x'|printf}}",
        "{{eq `xy` 1}}",
        "{{lt true true}}",
        "{{eq .SI .SI}}",
        "{{.X.Y}}",
        "{{.U.V.W}}",
        "{{.Empty0.field}}",
        "{{template \"nothing\"}}",
        "{{range .X}}{{end}}",
        "{{range $i, $v := 3}}{{end}}",
        "{{not 1 2}}",
        "{{.MSI 3}}",
    };

    [Theory]
    [MemberData(nameof(ExecutionErrors))]
    public void Execute_Fails_AsGoDoes(string text)
    {
        var template = GoTemplate.Parse("test", text);
        var ex = Assert.Throws<TemplateException>(() => template.Execute(Data, new TemplateOptions { MissingKey = MissingKeyMode.Default }));
        Assert.StartsWith("template: test:", ex.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> ParseErrors => new()
    {
        { "hello{{range", "unclosed action" },
        { "hello{{range .x}}", "unexpected EOF" },
        { "{{end}}", "unexpected {{end}}" },
        { "{{else}}", "unexpected {{else}}" },
        { "hello{{undefined}}", "function \"undefined\" not defined" },
        { "{{$x}}", "undefined variable \"$x\"" },
        { "{{with $x := 4}}{{end}}{{$x}}", "undefined variable \"$x\"" },
        { "{{range $u, $v, $w := 3}}{{end}}", "too many declarations in range" },
        { "{{printf (printf .).}}", "unexpected" },
        { "{{range .}}{{end}} {{break}}", "{{break}} outside {{range}}" },
        { "{{range .}}{{end}} {{continue}}", "{{continue}} outside {{range}}" },
        { "{{range .}}{{else}}{{break}}{{end}}", "{{break}} outside {{range}}" },
        { "{{\"unterminated}}", "unterminated quoted string" },
        { "{{/* unclosed", "unclosed comment" },
        { "{{ .X | 3 }}", "non executable command in pipeline stage 2" },
        { "{{if}}{{end}}", "missing value for if" },
        { "{{ ( .X }}", "unclosed left paren" },
        { "{{ 1 # 2 }}", "unrecognized character in action" },
        { "{{ 1.5.x }}", "bad number syntax" },
        { "{{3i}}", "complex numbers are not supported" },
        { "{{define \"x\"}}{{define \"y\"}}{{end}}{{end}}", "definitions are allowed only at the top level" },
    };

    [Theory]
    [MemberData(nameof(ParseErrors))]
    public void Parse_Fails_WithGoMessage(string text, string reason)
    {
        var ex = Assert.Throws<TemplateException>(() => GoTemplate.Parse("P", text));
        Assert.StartsWith("template: P:", ex.Message, StringComparison.Ordinal);
        Assert.Contains(reason, ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnterminatedRawString_NamesTheLineOfTheQuote()
    {
        // Go's TestUnterminatedStringError.
        var ex = Assert.Throws<TemplateException>(() => GoTemplate.Parse("X", "hello\n\n{{`unterminated\n\n\n\n}}\n some more\n\n"));
        Assert.Contains("X:3: unexpected unterminated raw quoted string", ex.Message, StringComparison.Ordinal);
        Assert.Equal(3, ex.Line);
    }

    [Fact]
    public void Execute_ErrorInNestedTemplate_HasGoLocationAndContext()
    {
        // Go's TestExecError, word for word.
        const string text = "line 1\nline 2\nline 3\n{{template \"one\" .}}\n{{define \"one\"}}{{template \"two\" .}}{{end}}\n{{define \"two\"}}{{template \"three\" .}}{{end}}\n{{define \"three\"}}{{index \"hi\" $}}{{end}}";
        var ex = Assert.Throws<TemplateException>(() => GoTemplate.Parse("top", text).Execute(5L));
        Assert.Equal("template: top:7:20: executing \"three\" at <index \"hi\" $>: error calling index: index out of range: 5", ex.Message);
        Assert.Equal(7, ex.Line);
    }

    [Fact]
    public void Execute_MissingKey_FollowsTheOption()
    {
        // Go's TestMissingMapKey; the zero of an interface value prints as missing.
        var data = TemplateValues.FromJson(JsonNode.Parse("""{"x": 99}"""));
        var template = GoTemplate.Parse("t1", "{{.x}} {{.y}}");
        Assert.Equal("99 <no value>", template.Execute(data, new TemplateOptions { MissingKey = MissingKeyMode.Default }));
        Assert.Equal("99 <no value>", template.Execute(data, new TemplateOptions { MissingKey = MissingKeyMode.Zero }));

        var ex = Assert.Throws<TemplateException>(() => template.Execute(data));
        Assert.Equal("template: t1:1:9: executing \"t1\" at <.y>: map has no entry for key \"y\"", ex.Message);
        Assert.Equal("y", ex.Key);
        Assert.Equal(1, ex.Line);
    }

    [Fact]
    public void Execute_MissingNestedKey_NamesTheLineAndTheKey()
    {
        var data = TemplateValues.FromJson(JsonNode.Parse("""{"value": {"epochs": 3}, "extra": {}}"""));
        var template = GoTemplate.Parse("schema", "{\n  \"command\": \"python main.py --epochs {{.value.epochs}}\",\n  \"lr\": {{.value.lr}}\n}");
        var ex = Assert.Throws<TemplateException>(() => template.Execute(data));
        Assert.Equal(3, ex.Line);
        Assert.Equal("lr", ex.Key);
        Assert.Contains("map has no entry for key \"lr\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("<.value.lr>", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Execute_Tree_WalksRecursiveDefinitions()
    {
        // Go's TestTree, with its trim markers.
        const string text = """
            {{- define "tree" -}}
            [
            	{{- .Val -}}
            	{{- with .Left -}}
            		{{template "tree" . -}}
            	{{- end -}}
            	{{- with .Right -}}
            		{{- template "tree" . -}}
            	{{- end -}}
            ]
            {{- end -}}
            {{- template "tree" . -}}
            """;
        var tree = TemplateValues.FromJson(JsonNode.Parse("""
            {"Val": 1,
             "Left": {"Val": 2, "Left": {"Val": 3, "Left": {"Val": 4}}, "Right": {"Val": 5, "Left": {"Val": 6}}},
             "Right": {"Val": 7, "Left": {"Val": 8, "Left": {"Val": 9}}, "Right": {"Val": 10, "Left": {"Val": 11}}}}
            """));
        Assert.Equal("[1[2[3[4]][5[6]]][7[8[9]][10[11]]]]", GoTemplate.Parse("root", text).Execute(tree, new TemplateOptions { MissingKey = MissingKeyMode.Default }));
    }

    [Fact]
    public void Execute_RendersAJobSchema()
    {
        const string schema = """
            {
              "environment": {{ .extra.environment | quote }},
              "command": "python main.py{{ range $i, $a := .value.args }} {{ $a }}{{ end }}",
              "variables": {{ toJson .value.variables }}{{ with .task.project }},
              "project": {{ quote . }}{{ end }}
            }
            """;
        var data = TemplateValues.FromJson(JsonNode.Parse("""
            {"extra": {"environment": "ml"}, "value": {"args": ["--epochs", 3], "variables": {"MODE": "fast"}},
             "task": {"uuid": "u1", "name": "train", "namespace": "default", "project": "vision"}}
            """));
        var rendered = GoTemplate.Parse("train", schema).Execute(data);
        var job = JsonNode.Parse(rendered)!;
        Assert.Equal("ml", (string?)job["environment"]);
        Assert.Equal("python main.py --epochs 3", (string?)job["command"]);
        Assert.Equal("fast", (string?)job["variables"]!["MODE"]);
        Assert.Equal("vision", (string?)job["project"]);
    }

    [Fact]
    public void Execute_StopsAtTheStepBudget()
    {
        var ex = Assert.Throws<TemplateException>(() => GoTemplate.Parse("loop", "{{range 100000000}}{{end}}").Execute(null, new TemplateOptions { MaxSteps = 10_000 }));
        Assert.Contains("more than 10000 steps", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Execute_StopsAtTheOutputCap()
    {
        var ex = Assert.Throws<TemplateException>(() => GoTemplate.Parse("big", "{{range 1000}}0123456789{{end}}").Execute(null, new TemplateOptions { MaxOutputChars = 5_000 }));
        Assert.Contains("longer than 5000 characters", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Execute_StopsAtTheDepthLimit()
    {
        var ex = Assert.Throws<TemplateException>(() => GoTemplate.Parse("r", "{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}").Execute(null));
        Assert.Contains("exceeded maximum template depth (100)", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Definitions_AreListed()
    {
        var template = GoTemplate.Parse("d", "{{define \"a\"}}A{{end}}{{block \"b\" .}}B{{end}}");
        Assert.Equal(["a", "b"], template.Definitions.Order(StringComparer.Ordinal));
    }
}
