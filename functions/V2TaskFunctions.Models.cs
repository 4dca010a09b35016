using System.Text.Json;

namespace EnvFabric.Functions;

/// <summary>
/// The body of <c>POST /v2/tasks</c>, every field of seed 002. <c>extra</c>, <c>value</c> and <c>quotas</c> are JSON
/// or a string holding JSON; <c>prior</c>, <c>timeout</c> and <c>times</c> a number or a numeric string;
/// <c>tags</c> <c>k=v,k=v</c> (or an array of <c>k=v</c>).
/// </summary>
public sealed record V2TaskBody
{
    public string? Uuid { get; init; }
    public string? Template { get; init; }
    public string? Namespace { get; init; }
    public string? Name { get; init; }
    public string? Project { get; init; }
    public JsonElement? Extra { get; init; }
    public JsonElement? Value { get; init; }
    public JsonElement? Prior { get; init; }
    public JsonElement? Timeout { get; init; }
    public JsonElement? Quotas { get; init; }
    public string? Pool { get; init; }
    public JsonElement? Adjustable { get; init; }
    public JsonElement? Tags { get; init; }
    public string? Callback { get; init; }
    public string? Schedule { get; init; }
    public JsonElement? Times { get; init; }
}

/// <summary>The body of <c>POST /v2/tasks/{uuid}/tags</c>: <c>k=v,k=v</c> or an array of <c>k=v</c>.</summary>
public sealed record V2TagsBody(JsonElement? Tags);

/// <summary>The answer of a submit: the task's uuid and the execution id of its first run (empty for a scheduled task).</summary>
public sealed record V2Submitted(string Uuid, string RunId);

/// <summary>A page of tasks.</summary>
public sealed record V2TaskPage(int Total, IReadOnlyList<V2TaskView> Tasks);

/// <summary>A task's status.</summary>
public sealed record V2TaskStatus(string Status);

/// <summary>
/// Seed 002's <c>TaskObj</c> (its <c>args</c> is the task's <c>value</c>, <c>quotas</c> JSON text, <c>tags</c>
/// <c>k=v,k=v</c>), plus the engine's <c>task_id</c>, <c>run_id</c> (the current, else the last execution),
/// <c>prior</c>, <c>adjustable</c>, <c>schedule</c> (cron) and <c>times</c>.
/// </summary>
public sealed record V2TaskView(
    string Uuid,
    long TaskId,
    string? Template,
    string Namespace,
    string Name,
    string? Project,
    string? Extra,
    string? Args,
    string? Timeout,
    string? Quotas,
    string Pool,
    string Tags,
    string? Callback,
    string Status,
    string? CreatedBy,
    DateTimeOffset CreateTime,
    DateTimeOffset? StartTime,
    DateTimeOffset? EndTime,
    DateTimeOffset UpdateTime,
    string? RunId,
    int Prior,
    bool Adjustable,
    string? Schedule,
    int? Times);
