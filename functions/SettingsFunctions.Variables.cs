using System.Globalization;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Settings;
using EnvFabric.Core.Tasks;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>The variables routes. System scope is admin-only; a user key manages its namespace's and its tasks' variables.</summary>
public static partial class SettingsFunctions
{
    public static async Task<IResult> ListVariables(
        [FromQuery(Name = "namespace")] string? @namespace,
        [FromQuery(Name = "task_id")] string? taskId,
        string? scope,
        HttpContext context,
        IVariableStore variables,
        ITaskRepository tasks)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(variables);
        ArgumentNullException.ThrowIfNull(tasks);
        IReadOnlyList<VariableRecord> rows;
        if (@namespace is not null || taskId is not null || scope is not null)
        {
            var (chosen, problem) = ScopeFromQuery(@namespace, taskId, scope);
            if (chosen is null)
            {
                return problem!;
            }

            if (await RefuseAsync(context, chosen, tasks, "read") is { } refused)
            {
                return refused;
            }

            rows = await variables.ListAsync(chosen, context.RequestAborted);
        }
        else
        {
            rows = await VisibleAsync(context, variables, tasks);
        }

        var views = rows.OrderBy(r => r.Scope.Key, StringComparer.Ordinal).ThenBy(r => r.Name, StringComparer.Ordinal).Select(VariableView.From).ToList();
        return TypedResults.Ok(new VariableList(views, views.Count));
    }

    public static async Task<IResult> GetVariable(
        string name,
        [FromQuery(Name = "namespace")] string? @namespace,
        [FromQuery(Name = "task_id")] string? taskId,
        string? scope,
        HttpContext context,
        IVariableStore variables,
        ITaskRepository tasks)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(variables);
        var (chosen, problem) = ScopeFromQuery(@namespace, taskId, scope);
        if (chosen is null)
        {
            return problem!;
        }

        if (await RefuseAsync(context, chosen, tasks, "read") is { } refused)
        {
            return refused;
        }

        var record = VariableRules.NameProblem(name) is null ? await variables.GetAsync(chosen, name, context.RequestAborted) : null;
        return record is null ? NotFound(name, chosen) : TypedResults.Ok(new VariableResponse("Variable found", VariableView.From(record)));
    }

    public static async Task<IResult> SetVariable(
        string name,
        SetVariableRequest body,
        HttpContext context,
        IVariableStore variables,
        SecretCipher cipher,
        ITaskRepository tasks,
        IAuditLog audit,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(variables);
        ArgumentNullException.ThrowIfNull(cipher);
        const string message = "Invalid variable";
        if (VariableRules.NameProblem(name) is { } nameProblem)
        {
            return Invalid(message, nameProblem);
        }

        var type = string.IsNullOrEmpty(body.Type) ? VariableTypes.Plain : body.Type;
        if (!VariableTypes.IsValid(type))
        {
            return Invalid(message, $"type must be '{VariableTypes.Plain}' or '{VariableTypes.Secret}' (was '{body.Type}')");
        }

        if (VariableRules.ValueProblem(body.Value) is { } valueProblem)
        {
            return Invalid(message, valueProblem);
        }

        var (scope, scopeProblem) = ScopeFromBody(body.Scope);
        if (scope is null)
        {
            return scopeProblem!;
        }

        if (await RefuseAsync(context, scope, tasks, "change") is { } refused)
        {
            return refused;
        }

        var now = time.GetUtcNow();
        var existing = await variables.GetAsync(scope, name, context.RequestAborted);
        var record = new VariableRecord
        {
            Name = name,
            Type = type,
            Scope = scope,
            Value = type == VariableTypes.Plain ? body.Value : null,
            Ciphertext = type == VariableTypes.Secret ? await cipher.EncryptAsync(body.Value!, scope, name, context.RequestAborted) : null,
            CreatedAt = existing?.CreatedAt ?? now,
            UpdatedAt = now,
            UpdatedBy = Who(context),
        };
        await variables.SetAsync(record, context.RequestAborted);

        // Never the value: its name, type and scope only.
        await AuditAsync(audit, time, context, "variable.set", new { name, type, scope = scope.Key, created = existing is null }, scope.Key + "/" + name);
        var view = VariableView.From(record);
        return existing is null
            ? TypedResults.Created($"/api/settings/variables/{Uri.EscapeDataString(name)}{QueryOf(scope)}", new VariableResponse("Variable created", view))
            : TypedResults.Ok(new VariableResponse("Variable updated", view));
    }

    public static async Task<IResult> DeleteVariable(
        string name,
        [FromQuery(Name = "namespace")] string? @namespace,
        [FromQuery(Name = "task_id")] string? taskId,
        string? scope,
        HttpContext context,
        IVariableStore variables,
        ITaskRepository tasks,
        IAuditLog audit,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(variables);
        var (chosen, problem) = ScopeFromQuery(@namespace, taskId, scope);
        if (chosen is null)
        {
            return problem!;
        }

        if (await RefuseAsync(context, chosen, tasks, "change") is { } refused)
        {
            return refused;
        }

        if (VariableRules.NameProblem(name) is not null || !await variables.DeleteAsync(chosen, name, context.RequestAborted))
        {
            return NotFound(name, chosen);
        }

        await AuditAsync(audit, time, context, "variable.delete", new { name, scope = chosen.Key }, chosen.Key + "/" + name);
        return TypedResults.Ok(new VariableDeleted($"Variable '{name}' deleted", name, chosen.Kind, chosen.Namespace, chosen.TaskId));
    }

    private static Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<CondaError> NotFound(string name, VariableScope scope) =>
        ErrorBodies.Conda(StatusCodes.Status404NotFound, $"Variable '{name}' not found", $"There is no variable '{name}' in scope {scope.Key}");

    private static string QueryOf(VariableScope scope) => scope.Kind switch
    {
        "namespace" => "?namespace=" + Uri.EscapeDataString(scope.Namespace!),
        "task" => "?task_id=" + scope.TaskId!.Value.ToString(CultureInfo.InvariantCulture),
        _ => "",
    };

    /// <summary>The scope of a query (<c>namespace=</c>, <c>task_id=</c>, <c>scope=system</c>, or none: system).</summary>
    private static (VariableScope? Scope, IResult? Problem) ScopeFromQuery(string? @namespace, string? taskId, string? scope)
    {
        const string message = "Invalid scope";
        if (scope is not (null or "" or "system" or "namespace" or "task"))
        {
            return (null, Invalid(message, $"scope must be 'system', 'namespace' (with namespace=) or 'task' (with task_id=), not '{scope}'"));
        }

        if (@namespace is not null && taskId is not null)
        {
            return (null, Invalid(message, "give namespace or task_id, not both"));
        }

        long? id = null;
        if (taskId is not null)
        {
            if (!long.TryParse(taskId, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < 1)
            {
                return (null, Invalid(message, $"task_id must be a positive whole number (was '{taskId}')"));
            }

            id = parsed;
        }

        var kind = @namespace is not null ? "namespace" : id is not null ? "task" : "system";
        if (!string.IsNullOrEmpty(scope) && scope != kind)
        {
            return (null, Invalid(message, $"scope={scope} does not match the other parameters (they select {kind})"));
        }

        return Build(@namespace, id, message);
    }

    /// <summary>The scope of a PUT body: <c>{"namespace": ...}</c>, <c>{"task_id": ...}</c>, or absent (system).</summary>
    private static (VariableScope? Scope, IResult? Problem) ScopeFromBody(VariableScopeRequest? scope)
    {
        const string message = "Invalid variable";
        if (scope is null || scope is { Namespace: null, TaskId: null })
        {
            return (VariableScope.System, null);
        }

        if (scope is { Namespace: not null, TaskId: not null })
        {
            return (null, Invalid(message, "scope takes namespace or task_id, not both"));
        }

        if (scope.TaskId is < 1)
        {
            return (null, Invalid(message, $"scope.task_id must be a positive whole number (was {scope.TaskId})"));
        }

        return Build(scope.Namespace, scope.TaskId, message);
    }

    private static (VariableScope? Scope, IResult? Problem) Build(string? @namespace, long? taskId, string message)
    {
        if (@namespace is not null)
        {
            return KeyNames.IsValid(@namespace)
                ? (VariableScope.ForNamespace(@namespace), null)
                : (null, Invalid(message, $"namespace must be 1 to {KeyNames.MaxLength} letters, digits, '.', '_' or '-', starting with a letter or digit"));
        }

        return (taskId is { } id ? VariableScope.ForTask(id) : VariableScope.System, null);
    }

    /// <summary>Null when the caller may <paramref name="action"/> the variables of <paramref name="scope"/>; else 403 (404 for a missing task).</summary>
    private static async Task<IResult?> RefuseAsync(HttpContext context, VariableScope scope, ITaskRepository tasks, string action)
    {
        if (scope.TaskId is { } id)
        {
            var task = await tasks.GetAsync(id, context.RequestAborted);
            if (task is null)
            {
                return ErrorBodies.Conda(StatusCodes.Status404NotFound, $"Task with ID {id} not found", "a task-scoped variable needs an existing task");
            }

            return NamespaceAccess.CanAct(context.User, task.Namespace) ? null : NamespaceAccess.Forbidden(context, $"You do not have permission to {action} the variables of this task");
        }

        if (scope.Namespace is { } ns)
        {
            return NamespaceAccess.CanAct(context.User, ns) ? null : NamespaceAccess.Forbidden(context, $"You do not have permission to {action} the variables of namespace '{ns}'");
        }

        return NamespaceAccess.IsAdmin(context.User) ? null : NamespaceAccess.Forbidden(context, $"Only admin keys may {action} system variables");
    }

    /// <summary>Every variable for an admin; for a user key, those of its namespace and of its namespace's tasks.</summary>
    private static async Task<IReadOnlyList<VariableRecord>> VisibleAsync(HttpContext context, IVariableStore variables, ITaskRepository tasks)
    {
        var all = await variables.ListAsync(null, context.RequestAborted);
        if (NamespaceAccess.IsAdmin(context.User))
        {
            return all;
        }

        var own = NamespaceAccess.NamespaceOf(context.User);
        var visible = new List<VariableRecord>();
        var taskNamespaces = new Dictionary<long, string?>();
        foreach (var record in all)
        {
            if (record.Scope.Namespace is { } ns)
            {
                if (ns == own)
                {
                    visible.Add(record);
                }
            }
            else if (record.Scope.TaskId is { } id)
            {
                if (!taskNamespaces.TryGetValue(id, out var taskNs))
                {
                    taskNs = (await tasks.GetAsync(id, context.RequestAborted))?.Namespace;
                    taskNamespaces[id] = taskNs;
                }

                if (taskNs is not null && NamespaceAccess.CanAct(context.User, taskNs))
                {
                    visible.Add(record);
                }
            }
        }

        return visible;
    }
}
