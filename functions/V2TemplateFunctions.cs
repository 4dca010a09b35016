using System.Text.Json;
using System.Text.Json.Nodes;
using EnvFabric.Core.Audit;
using EnvFabric.Core.V2;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>The body of <c>POST /v2/templates</c> and <c>PUT /v2/templates/{name}</c>; <c>extra</c> is a JSON object or a string holding one.</summary>
public sealed record V2TemplateBody(string? Name, string? Title, string? Schema, string? Type, JsonElement? Extra, string? CreateTime);

/// <summary>The body of <c>POST /v2/templates/{name}/render</c>: what a task would render the schema with.</summary>
public sealed record V2RenderBody(string? Uuid, string? Name, string? Namespace, string? Project, JsonElement? Extra, JsonElement? Value);

/// <summary>A template as seed 002 shows it (<c>extra</c> as the JSON text, like its <c>TaskDef</c>).</summary>
public sealed record V2TemplateView(long Id, string Name, string Title, string Schema, string Type, string Extra, DateTimeOffset CreateTime, DateTimeOffset UpdateTime, string? CreatedBy);

/// <summary>The answer of a render: the rendered text and, for python and shell, the job it describes.</summary>
public sealed record V2RenderView(string Type, bool Executable, string Text, RenderedJob? Job);

/// <summary>The services of the template routes.</summary>
public sealed class V2TemplateServices
{
    public required HttpContext Context { get; init; }

    [FromServices]
    public required IJobTemplateRepository Templates { get; init; }

    [FromServices]
    public required IAuditLog AuditLog { get; init; }

    [FromServices]
    public required TimeProvider Clock { get; init; }
}

/// <summary>
/// Seed 002's task definitions under <c>/v2/templates</c>: list (names), detail, create and update, plus a
/// render preview. A schema is a Go <c>text/template</c>, checked when stored; templates are shared by the
/// deployment, so changing them takes an admin key.
/// </summary>
public static class V2TemplateFunctions
{
    public static RouteGroupBuilder MapV2TemplateFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/v2/templates").WithTags("v2 templates");
        group.MapGet("", ListTemplates).WithSummary("Template names");
        group.MapGet("/{name}", GetTemplate).WithSummary("A template");
        group.MapPost("", CreateTemplate).WithSummary("Create a template");
        group.MapPut("/{name}", UpdateTemplate).WithSummary("Replace a template");
        group.MapPost("/{name}/render", RenderTemplate).WithSummary("Render a template's schema for given extra and value, without running anything");
        return group;
    }

    public static async Task<IResult> ListTemplates([AsParameters] V2TemplateServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var all = await s.Templates.ListAsync(s.Context.RequestAborted);
        return V2Results.Ok(all.Select(t => t.Name).Order(StringComparer.Ordinal).ToList());
    }

    public static async Task<IResult> GetTemplate(string name, [AsParameters] V2TemplateServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return await s.Templates.GetAsync(name, s.Context.RequestAborted) is { } template
            ? V2Results.Ok(View(template))
            : NotFound(name);
    }

    public static async Task<IResult> CreateTemplate(V2TemplateBody? body, [AsParameters] V2TemplateServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (Forbidden(s) is { } forbidden)
        {
            return forbidden;
        }

        if (body is null)
        {
            return V2Results.Invalid("a JSON body is required");
        }

        if (!TemplateNames.IsValid(body.Name))
        {
            return V2Results.Invalid($"name '{body.Name}' is not valid: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }

        var (template, problem) = Validate(body, body.Name!);
        if (problem is not null)
        {
            return V2Results.Invalid(problem);
        }

        var now = s.Clock.GetUtcNow();
        var added = await s.Templates.AddAsync(template! with { CreateTime = now, UpdateTime = now, CreatedBy = NamespaceAccess.KeyNameOf(s.Context.User) }, s.Context.RequestAborted);
        if (added is null)
        {
            return ErrorBodies.V2(StatusCodes.Status409Conflict, V2Codes.InvalidArgument, $"template '{body.Name}' already exists");
        }

        await s.AuditLog.WriteQuietlyAsync(s.Context, s.Clock, "template.create", added.Name, new { id = added.Id, name = added.Name, type = added.Type, title = added.Title });
        return V2Results.Ok(new { id = added.Id, name = added.Name }, StatusCodes.Status201Created);
    }

    public static async Task<IResult> UpdateTemplate(string name, V2TemplateBody? body, [AsParameters] V2TemplateServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (Forbidden(s) is { } forbidden)
        {
            return forbidden;
        }

        if (body is null)
        {
            return V2Results.Invalid("a JSON body is required");
        }

        if (body.Name is { Length: > 0 } renamed && renamed != name)
        {
            return V2Results.Invalid($"the body names template '{renamed}' but the path names '{name}'; a template cannot be renamed");
        }

        if (await s.Templates.GetAsync(name, s.Context.RequestAborted) is not { } existing)
        {
            return NotFound(name);
        }

        var (template, problem) = Validate(body, name);
        if (problem is not null)
        {
            return V2Results.Invalid(problem);
        }

        var replaced = await s.Templates.ReplaceAsync(
            template! with { Id = existing.Id, CreateTime = existing.CreateTime, CreatedBy = existing.CreatedBy, UpdateTime = s.Clock.GetUtcNow(), ETag = existing.ETag },
            s.Context.RequestAborted);
        if (replaced is null)
        {
            return ErrorBodies.V2(StatusCodes.Status409Conflict, V2Codes.InvalidArgument, $"template '{name}' changed while it was being updated; read it again");
        }

        await s.AuditLog.WriteQuietlyAsync(s.Context, s.Clock, "template.update", replaced.Name, new { id = replaced.Id, name = replaced.Name, type = replaced.Type, title = replaced.Title });
        return V2Results.Ok(new { id = replaced.Id, name = replaced.Name });
    }

    public static async Task<IResult> RenderTemplate(string name, V2RenderBody? body, [AsParameters] V2TemplateServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (await s.Templates.GetAsync(name, s.Context.RequestAborted) is not { } template)
        {
            return NotFound(name);
        }

        body ??= new V2RenderBody(null, null, null, null, null, null);
        var (extra, extraProblem) = ReadObject(body.Extra, "extra");
        var (value, valueProblem) = ReadValue(body.Value);
        if ((extraProblem ?? valueProblem) is { } problem)
        {
            return V2Results.Invalid(problem);
        }

        var result = SchemaRenderer.Render(template, new RenderInput(
            body.Uuid ?? "", body.Name ?? "", body.Namespace ?? NamespaceAccess.NamespaceOf(s.Context.User) ?? NamespaceAccess.DefaultNamespace, body.Project, extra, value));
        return result.Ok
            ? V2Results.Ok(new V2RenderView(template.Type, TemplateTypes.IsExecutable(template.Type), result.Text!, result.Job))
            : V2Results.Invalid(result.Error!);
    }

    private static (JobTemplate? Template, string? Problem) Validate(V2TemplateBody body, string name)
    {
        if (string.IsNullOrWhiteSpace(body.Schema))
        {
            return (null, "schema is required (a Go text/template)");
        }

        if (body.Type is not { } type || !TemplateTypes.Known.Contains(type, StringComparer.Ordinal))
        {
            return (null, $"type '{body.Type}' is not known; use one of {string.Join(", ", TemplateTypes.Known)}");
        }

        if ((body.Title ?? "").Length > 255)
        {
            return (null, "title is longer than 255 characters");
        }

        if (SchemaRenderer.Check(name, body.Schema) is { } schemaError)
        {
            return (null, "schema: " + schemaError);
        }

        var (extra, problem) = ReadObject(body.Extra, "extra");
        if (problem is not null)
        {
            return (null, problem);
        }

        var extraText = (extra ?? []).ToJsonString();
        if (extraText.Length > SchemaRenderer.MaxSchemaChars)
        {
            return (null, $"extra is longer than {SchemaRenderer.MaxSchemaChars} characters");
        }

        return (new JobTemplate { Name = name, Title = body.Title ?? "", Schema = body.Schema, Type = type, Extra = extraText }, null);
    }

    /// <summary>A JSON object given as an object or as a string holding one (seed 002 sends strings).</summary>
    internal static (JsonObject? Value, string? Problem) ReadObject(JsonElement? element, string field)
    {
        if (element is not { } e || e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return (null, null);
        }

        try
        {
            var node = e.ValueKind == JsonValueKind.String
                ? (string.IsNullOrWhiteSpace(e.GetString()) ? new JsonObject() : JsonNode.Parse(e.GetString()!))
                : JsonNode.Parse(e.GetRawText());
            return node is JsonObject o ? (o, null) : (null, $"{field} must be a JSON object");
        }
        catch (JsonException ex)
        {
            return (null, $"{field} is not valid JSON: {ex.Message}");
        }
    }

    /// <summary>The task parameters: any JSON, or a string holding JSON.</summary>
    internal static (JsonNode? Value, string? Problem) ReadValue(JsonElement? element)
    {
        if (element is not { } e || e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return (null, null);
        }

        if (e.ValueKind != JsonValueKind.String)
        {
            return (JsonNode.Parse(e.GetRawText()), null);
        }

        try
        {
            return (string.IsNullOrWhiteSpace(e.GetString()) ? new JsonObject() : JsonNode.Parse(e.GetString()!), null);
        }
        catch (JsonException ex)
        {
            return (null, $"value is not valid JSON: {ex.Message}");
        }
    }

    private static JsonHttpResult<V2Error> NotFound(string name) =>
        ErrorBodies.V2(StatusCodes.Status404NotFound, V2Codes.InvalidArgument, $"template '{name}' not found");

    private static JsonHttpResult<V2Error>? Forbidden(V2TemplateServices s) =>
        NamespaceAccess.IsAdmin(s.Context.User) ? null : ErrorBodies.V2(StatusCodes.Status403Forbidden, V2Codes.InvalidArgument, "templates are shared by the deployment: changing one takes an admin key");

    private static V2TemplateView View(JobTemplate t) => new(t.Id, t.Name, t.Title, t.Schema, t.Type, t.Extra, t.CreateTime, t.UpdateTime, t.CreatedBy);
}
