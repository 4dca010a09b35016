using System.Text.Json.Serialization;
using EnvFabric.Core.Settings;

namespace EnvFabric.Functions;

/// <summary>The body of <c>PUT /api/settings/variables/{name}</c>.</summary>
public sealed record SetVariableRequest(string? Value, string? Type, VariableScopeRequest? Scope);

/// <summary>A variable's scope in a request: a namespace, a task, or neither (system).</summary>
public sealed record VariableScopeRequest(string? Namespace, long? TaskId);

/// <summary>A variable as shown: a secret's value is always null, with <see cref="Set"/> true.</summary>
public sealed record VariableView(
    string Name,
    string Type,
    string Scope,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Namespace,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? TaskId,
    string? Value,
    bool Set,
    string? CreatedAt,
    string? UpdatedAt,
    string UpdatedBy)
{
    public static VariableView From(VariableRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new(
            r.Name, r.Type, r.Scope.Kind, r.Scope.Namespace, r.Scope.TaskId, r.IsSecret ? null : r.Value, r.IsSecret ? r.Ciphertext is { Length: > 0 } : true,
            SettingsFunctions.Date(r.CreatedAt), SettingsFunctions.Date(r.UpdatedAt), r.UpdatedBy);
    }
}

public sealed record VariableResponse(string Message, VariableView Variable)
{
    [JsonPropertyOrder(-1)]
    public bool Success => true;
}

public sealed record VariableList(IReadOnlyList<VariableView> Variables, int Total)
{
    [JsonPropertyOrder(-1)]
    public bool Success => true;
}

public sealed record VariableDeleted(
    string Message,
    string Name,
    string Scope,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Namespace,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? TaskId)
{
    [JsonPropertyOrder(-1)]
    public bool Success => true;
}
