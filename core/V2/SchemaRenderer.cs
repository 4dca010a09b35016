using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Templates;

namespace EnvFabric.Core.V2;

/// <summary>What a schema is rendered for: the task's identity (<c>.task</c>), its <c>extra</c> and <c>value</c>.</summary>
public sealed record RenderInput(string Uuid, string Name, string Namespace, string? Project, JsonObject? Extra, JsonNode? Value);

/// <summary>
/// The job a <c>python</c> or <c>shell</c> schema renders to. The command is split into argv without a shell;
/// <see cref="Script"/> (python only) is written as <c>main.py</c> in the instance's directory.
/// </summary>
public sealed record RenderedJob(string Environment, string Command, IReadOnlyList<string> Argv, string? Script, string? Project, IReadOnlyDictionary<string, string> Variables);

/// <summary>The outcome of a render: the text, the job for executable types, or the error (a seed 002 1001).</summary>
public sealed record RenderResult(string? Text, RenderedJob? Job, string? Error, int? Line = null, string? Key = null)
{
    public bool Ok => Error is null;
}

/// <summary>
/// Renders a <see cref="JobTemplate"/>'s schema with <c>.extra</c> (the template's extra, overridden key by key
/// by the task's), <c>.value</c> (the task's parameters) and <c>.task</c> (uuid, name, namespace, project). A
/// missing key or a template error is reported with its line and key, never thrown.
/// </summary>
public static partial class SchemaRenderer
{
    /// <summary>Longest schema accepted (a table string property holds 32K characters).</summary>
    public const int MaxSchemaChars = 32_000;

    /// <summary>Longest inline script.</summary>
    public const int MaxScriptChars = 1 << 20;

    /// <summary>Parses a schema for storage; the error names the line.</summary>
    public static string? Check(string name, string schema)
    {
        if (schema.Length > MaxSchemaChars)
        {
            return $"schema is longer than {MaxSchemaChars} characters";
        }

        try
        {
            GoTemplate.Parse(name, schema);
            return null;
        }
        catch (TemplateException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>The template's extra overridden key by key by the task's.</summary>
    public static JsonObject MergeExtra(string templateExtra, JsonObject? taskExtra)
    {
        var merged = JsonNode.Parse(string.IsNullOrWhiteSpace(templateExtra) ? "{}" : templateExtra) as JsonObject ?? [];
        foreach (var (key, value) in taskExtra ?? [])
        {
            merged[key] = value?.DeepClone();
        }

        return merged;
    }

    public static RenderResult Render(JobTemplate template, RenderInput input)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(input);
        var data = new JsonObject
        {
            ["extra"] = MergeExtra(template.Extra, input.Extra),
            ["value"] = input.Value?.DeepClone() ?? new JsonObject(),
            ["task"] = new JsonObject
            {
                ["uuid"] = input.Uuid,
                ["name"] = input.Name,
                ["namespace"] = input.Namespace,
                ["project"] = input.Project,
            },
        };

        string text;
        try
        {
            text = GoTemplate.Parse(template.Name, template.Schema).Execute(TemplateValues.FromJson(data));
        }
        catch (TemplateException ex)
        {
            return new RenderResult(null, null, ex.Message, ex.Line == 0 ? null : ex.Line, ex.Key);
        }

        if (!TemplateTypes.IsExecutable(template.Type))
        {
            return new RenderResult(text, null, null);
        }

        var (job, error) = ParseJob(template.Type, text);
        return error is null ? new RenderResult(text, job, null) : new RenderResult(text, null, error);
    }

    /// <summary>Reads the JSON job a python or shell schema renders to.</summary>
    public static (RenderedJob? Job, string? Error) ParseJob(string type, string text)
    {
        JsonObject? json;
        try
        {
            json = JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException ex)
        {
            return (null, $"the rendered schema is not JSON: {ex.Message}");
        }

        if (json is null)
        {
            return (null, "the rendered schema must be a JSON object");
        }

        var known = new HashSet<string>(StringComparer.Ordinal) { "environment", "command", "script", "project", "variables" };
        if (json.Select(p => p.Key).FirstOrDefault(k => !known.Contains(k)) is { } unknown)
        {
            return (null, $"the rendered job has an unknown field '{unknown}' (known: {string.Join(", ", known)})");
        }

        if (Text(json, "environment") is not { Length: > 0 } environment)
        {
            return (null, "the rendered job needs an 'environment' (a string)");
        }

        var command = Text(json, "command") ?? (type == TemplateTypes.Python ? ScriptJob.DefaultCommand : null);
        if (command is null)
        {
            return (null, "the rendered job needs a 'command' (a string)");
        }

        if (!CommandLine.TrySplit(command, out var argv, out var splitError))
        {
            return (null, $"the rendered command cannot be split: {splitError}");
        }

        var script = Text(json, "script");
        if (script is not null && type != TemplateTypes.Python)
        {
            return (null, "a 'script' is allowed only for the python type");
        }

        if (script is { Length: > MaxScriptChars })
        {
            return (null, $"the rendered script is longer than {MaxScriptChars} characters");
        }

        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        switch (json["variables"])
        {
            case null:
                break;
            case JsonObject vars:
                foreach (var (key, value) in vars)
                {
                    if (!VariableName().IsMatch(key))
                    {
                        return (null, $"variable name '{key}' is not valid (letters, digits and _, not starting with a digit)");
                    }

                    variables[key] = value switch
                    {
                        null => "",
                        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
                        _ => value.ToJsonString(),
                    };
                }

                break;
            default:
                return (null, "'variables' must be an object of names to strings");
        }

        var project = Text(json, "project");
        return (new RenderedJob(environment, command, argv, script, string.IsNullOrEmpty(project) ? null : project, variables), null);

        static string? Text(JsonObject o, string name) =>
            o[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex VariableName();
}
