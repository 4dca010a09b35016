using System.Globalization;
using EnvFabric.Core.Audit;
using EnvFabric.Functions.Auth;
using EnvFabric.Functions.Http;

namespace EnvFabric.Functions;

/// <summary>
/// <c>/api/settings</c>: the variables every run receives (system, namespace or task scope; plain or secret) and the
/// package index every environment job uses. Errors are seed 003's <c>{success:false,message,error}</c>.
/// </summary>
public static partial class SettingsFunctions
{
    public static RouteGroupBuilder MapSettingsFunctions(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var group = routes.MapGroup("/api/settings").WithTags("Settings");
        group.MapGet("/variables", ListVariables)
            .WithName("ListVariables")
            .WithSummary("The variables the caller may see, optionally of one scope (namespace=, task_id= or scope=system); secrets show value null and set true.");
        group.MapGet("/variables/{name}", GetVariable)
            .WithName("GetVariable")
            .WithSummary("One variable of the scope chosen by namespace=, task_id= or none (system).");
        group.MapPut("/variables/{name}", SetVariable)
            .WithName("SetVariable")
            .WithSummary("Creates or replaces a variable: value, type plain or secret, scope {namespace} or {task_id} or none (system). Secrets are encrypted at rest.");
        group.MapDelete("/variables/{name}", DeleteVariable)
            .WithName("DeleteVariable")
            .WithSummary("Deletes a variable of the scope chosen by namespace=, task_id= or none (system).");
        MapPackageIndex(group);
        return group;
    }

    private static string Who(HttpContext context) => NamespaceAccess.KeyNameOf(context.User) ?? "anonymous";

    private static string ClientIp(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "";

    private static Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<CondaError> Invalid(string message, string error) => ErrorBodies.Conda(StatusCodes.Status400BadRequest, message, error);

    /// <summary>One audit row of a settings change; an audit outage does not undo the change.</summary>
    private static Task AuditAsync(IAuditLog audit, TimeProvider time, HttpContext context, string operation, object inputs, string operationId) =>
        audit.WriteQuietlyAsync(context, time, operation, operationId, inputs);

    internal static string? Date(DateTimeOffset at) => at == DateTimeOffset.MinValue ? null : at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
