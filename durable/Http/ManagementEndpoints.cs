using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EnvFabric.Durable.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;

namespace EnvFabric.Durable;

/// <summary>
/// Durable Functions' HTTP management API: <c>GET instances</c>, <c>GET|DELETE instances/{id}</c>,
/// <c>POST instances/{id}/raiseEvent/{name}</c>, <c>/terminate</c>, <c>/suspend</c>, <c>/resume</c>, <c>/restart</c>,
/// <c>/rewind</c>. Errors are built by the host's error writer (its dialect), given at mapping.
/// </summary>
public static class ManagementEndpoints
{
    /// <summary>The header that carries a query's continuation token, both ways.</summary>
    public const string ContinuationHeader = "x-ms-continuation-token";

    private static readonly JsonSerializerOptions BodyJson = new(JsonSerializerDefaults.Web);

    private static Func<int, string, IResult> _error = (status, message) => Results.Json(new { message }, BodyJson, statusCode: status);

    /// <summary>
    /// Maps the management API under <paramref name="prefix"/> and returns the group, so the host can put its
    /// authorization (the admin key) on it.
    /// </summary>
    public static RouteGroupBuilder MapDurableTaskManagement(this IEndpointRouteBuilder endpoints, string prefix = "/runtime/webhooks/durabletask", Func<int, string, IResult>? error = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        _error = error ?? ((status, message) => Results.Json(new { message }, BodyJson, statusCode: status));
        var group = endpoints.MapGroup(prefix).WithTags("Durable management");
        group.MapGet("/instances", QueryInstancesAsync);
        group.MapDelete("/instances", PurgeInstancesAsync);
        group.MapGet("/instances/{instanceId}", GetInstanceAsync);
        group.MapDelete("/instances/{instanceId}", PurgeInstanceAsync);
        group.MapPost("/instances/{instanceId}/raiseEvent/{eventName}", RaiseEventAsync);
        group.MapPost("/instances/{instanceId}/terminate", (string instanceId, string? reason, DurableTaskClient client, CancellationToken ct) =>
            ControlAsync(client, instanceId, c => c.TerminateInstanceAsync(instanceId, reason, ct), ct));
        group.MapPost("/instances/{instanceId}/suspend", (string instanceId, string? reason, DurableTaskClient client, CancellationToken ct) =>
            ControlAsync(client, instanceId, c => c.SuspendInstanceAsync(instanceId, reason, ct), ct));
        group.MapPost("/instances/{instanceId}/resume", (string instanceId, string? reason, DurableTaskClient client, CancellationToken ct) =>
            ControlAsync(client, instanceId, c => c.ResumeInstanceAsync(instanceId, reason, ct), ct));
        group.MapPost("/instances/{instanceId}/rewind", RewindAsync);
        group.MapPost("/instances/{instanceId}/restart", RestartAsync);
        return group;
    }

    /// <summary>The status body of Durable Functions' <c>GET instances/{id}</c>.</summary>
    public static JsonObject StatusBody(OrchestrationMetadata metadata, IReadOnlyList<HistoryEventInfo>? history, bool showInput, bool showHistoryOutput = false)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var body = new JsonObject
        {
            ["name"] = metadata.Name,
            ["instanceId"] = metadata.InstanceId,
            ["runtimeStatus"] = metadata.RuntimeStatus.ToString(),
            ["input"] = showInput ? Parse(metadata.SerializedInput) : null,
            ["customStatus"] = Parse(metadata.SerializedCustomStatus),
            ["output"] = metadata.RuntimeStatus == OrchestrationRuntimeStatus.Failed && metadata.FailureDetails is { } f
                ? JsonSerializer.SerializeToNode(f, BodyJson)
                : Parse(metadata.SerializedOutput),
            ["createdTime"] = FormatTime(metadata.CreatedAt),
            ["lastUpdatedTime"] = FormatTime(metadata.LastUpdatedAt),
        };
        if (history is not null)
        {
            var events = new JsonArray();
            // As Durable Functions: the replay bookkeeping events are left out.
            foreach (var e in history.Where(e => e.EventType is not ("OrchestratorStarted" or "OrchestratorCompleted")))
            {
                var item = new JsonObject
                {
                    ["EventType"] = e.EventType,
                    ["EventId"] = e.EventId,
                    ["Timestamp"] = e.Timestamp.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture),
                };
                if (e.Name is not null)
                {
                    item["Name"] = e.Name;
                }

                if (e.ScheduledId is { } scheduled)
                {
                    item["TaskScheduledId"] = scheduled;
                }

                if (e.FireAt is { } fireAt)
                {
                    item["FireAt"] = fireAt.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);
                }

                if (showHistoryOutput && e.Result is not null)
                {
                    item["Result"] = Parse(e.Result);
                }

                if (showInput && e.Input is not null && e.EventType == "ExecutionStarted")
                {
                    item["Input"] = Parse(e.Input);
                }

                if (e.FailureDetails is { } failure)
                {
                    item["FailureDetails"] = JsonSerializer.SerializeToNode(failure, BodyJson);
                }

                events.Add(item);
            }

            body["historyEvents"] = events;
        }

        return body;
    }

    private static async Task<IResult> GetInstanceAsync(HttpRequest request, string instanceId, AzureStorageDurableTaskClient client, bool? showHistory, bool? showHistoryOutput, bool? showInput, CancellationToken ct)
    {
        var metadata = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, ct).ConfigureAwait(false);
        if (metadata is null)
        {
            return Error(StatusCodes.Status404NotFound, $"No instance with id '{instanceId}' was found.");
        }

        var history = showHistory == true ? await client.GetInstanceHistoryAsync(instanceId, ct).ConfigureAwait(false) : null;
        var body = StatusBody(metadata, history, showInput ?? true, showHistoryOutput == true);
        if (metadata.IsRunning)
        {
            var location = DurableHttp.CreateCheckStatusPayload(request, instanceId)["statusQueryGetUri"];
            return new JsonBodyResult(body, StatusCodes.Status202Accepted, location);
        }

        return new JsonBodyResult(body, StatusCodes.Status200OK, null);
    }

    private static async Task<IResult> QueryInstancesAsync(HttpRequest request, DurableTaskClient client, string? runtimeStatus, DateTimeOffset? createdTimeFrom, DateTimeOffset? createdTimeTo, string? instanceIdPrefix, int? top, bool? showInput, CancellationToken ct)
    {
        if (ParseStatuses(runtimeStatus) is not { } statuses)
        {
            return Error(StatusCodes.Status400BadRequest, $"Unknown runtimeStatus in '{runtimeStatus}'.");
        }

        if (top is < 1 or > 1000)
        {
            return Error(StatusCodes.Status400BadRequest, "top must be between 1 and 1000.");
        }

        var token = request.Headers[ContinuationHeader].ToString();
        var query = new OrchestrationQuery
        {
            CreatedFrom = createdTimeFrom,
            CreatedTo = createdTimeTo,
            Statuses = statuses,
            InstanceIdPrefix = instanceIdPrefix,
            PageSize = top ?? 100,
            FetchInputsAndOutputs = showInput == true,
        };
        await foreach (var page in client.GetAllInstancesAsync(query).AsPages(token.Length == 0 ? null : token, top ?? 100).WithCancellation(ct).ConfigureAwait(false))
        {
            var items = new JsonArray(page.Values.Select(i => (JsonNode)StatusBody(i, null, showInput == true)).ToArray());
            return new JsonBodyResult(items, StatusCodes.Status200OK, null, page.ContinuationToken);
        }

        return new JsonBodyResult(new JsonArray(), StatusCodes.Status200OK, null);
    }

    private static async Task<IResult> PurgeInstanceAsync(string instanceId, DurableTaskClient client, CancellationToken ct)
    {
        var metadata = await client.GetInstanceAsync(instanceId, false, ct).ConfigureAwait(false);
        if (metadata is null)
        {
            return Error(StatusCodes.Status404NotFound, $"No instance with id '{instanceId}' was found.");
        }

        if (metadata.IsRunning)
        {
            return Error(StatusCodes.Status409Conflict, $"Instance '{instanceId}' is {metadata.RuntimeStatus}; terminate it before purging.");
        }

        var result = await client.PurgeInstanceAsync(instanceId, ct).ConfigureAwait(false);
        return result.PurgedInstanceCount == 0
            ? Error(StatusCodes.Status404NotFound, $"No instance with id '{instanceId}' was found.")
            : Results.Json(new { instancesDeleted = result.PurgedInstanceCount }, BodyJson);
    }

    private static async Task<IResult> PurgeInstancesAsync(DurableTaskClient client, string? runtimeStatus, DateTimeOffset? createdTimeFrom, DateTimeOffset? createdTimeTo, CancellationToken ct)
    {
        if (ParseStatuses(runtimeStatus) is not { } statuses)
        {
            return Error(StatusCodes.Status400BadRequest, $"Unknown runtimeStatus in '{runtimeStatus}'.");
        }

        var result = await client.PurgeAllInstancesAsync(new PurgeInstancesFilter(createdTimeFrom, createdTimeTo, statuses), ct).ConfigureAwait(false);
        return result.PurgedInstanceCount == 0
            ? Error(StatusCodes.Status404NotFound, "No finished instances matched.")
            : Results.Json(new { instancesDeleted = result.PurgedInstanceCount }, BodyJson);
    }

    private static async Task<IResult> RaiseEventAsync(HttpRequest request, string instanceId, string eventName, DurableTaskClient client, CancellationToken ct)
    {
        JsonElement payload;
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct).ConfigureAwait(false);
            payload = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return Error(StatusCodes.Status400BadRequest, "The event payload must be JSON.");
        }

        return await ControlAsync(client, instanceId, c => c.RaiseEventAsync(instanceId, eventName, payload, ct), ct).ConfigureAwait(false);
    }

    private static async Task<IResult> RewindAsync(string instanceId, string? reason, DurableTaskClient client, CancellationToken ct)
    {
        var metadata = await client.GetInstanceAsync(instanceId, false, ct).ConfigureAwait(false);
        if (metadata is null)
        {
            return Error(StatusCodes.Status404NotFound, $"No instance with id '{instanceId}' was found.");
        }

        if (metadata.RuntimeStatus != OrchestrationRuntimeStatus.Failed)
        {
            return Error(StatusCodes.Status410Gone, $"Only a failed instance can be rewound; '{instanceId}' is {metadata.RuntimeStatus}.");
        }

        await client.RewindInstanceAsync(instanceId, reason ?? string.Empty, ct).ConfigureAwait(false);
        return Results.Accepted();
    }

    private static async Task<IResult> RestartAsync(HttpRequest request, string instanceId, bool? restartWithNewInstanceId, DurableTaskClient client, CancellationToken ct)
    {
        var metadata = await client.GetInstanceAsync(instanceId, false, ct).ConfigureAwait(false);
        if (metadata is null)
        {
            return Error(StatusCodes.Status404NotFound, $"No instance with id '{instanceId}' was found.");
        }

        var newId = restartWithNewInstanceId ?? true;
        if (!newId && !metadata.IsCompleted)
        {
            return Error(StatusCodes.Status409Conflict, $"Instance '{instanceId}' is {metadata.RuntimeStatus}; only a finished instance restarts under its own id.");
        }

        var restarted = await client.RestartAsync(instanceId, newId, ct).ConfigureAwait(false);
        return DurableHttp.CreateCheckStatusResponse(request, restarted);
    }

    private static async Task<IResult> ControlAsync(DurableTaskClient client, string instanceId, Func<DurableTaskClient, Task> action, CancellationToken ct)
    {
        var metadata = await client.GetInstanceAsync(instanceId, false, ct).ConfigureAwait(false);
        if (metadata is null)
        {
            return Error(StatusCodes.Status404NotFound, $"No instance with id '{instanceId}' was found.");
        }

        if (metadata.IsCompleted)
        {
            return Error(StatusCodes.Status410Gone, $"Instance '{instanceId}' has already finished ({metadata.RuntimeStatus}).");
        }

        await action(client).ConfigureAwait(false);
        return Results.Accepted();
    }

    private static IResult Error(int status, string message) => _error(status, message);

    /// <summary>A comma-separated list of status names; null when one is not a status.</summary>
    private static List<OrchestrationRuntimeStatus>? ParseStatuses(string? list)
    {
        var statuses = new List<OrchestrationRuntimeStatus>();
        foreach (var part in (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<OrchestrationRuntimeStatus>(part, ignoreCase: true, out var status) || int.TryParse(part, out _))
            {
                return null;
            }

            statuses.Add(status);
        }

        return statuses;
    }

    private static JsonNode? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return JsonValue.Create(json);
        }
    }

    private static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private sealed class JsonBodyResult(JsonNode body, int statusCode, string? location, string? continuation = null) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = statusCode;
            if (location is not null)
            {
                httpContext.Response.Headers.Location = location;
                httpContext.Response.Headers.RetryAfter = DurableHttp.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            }

            if (continuation is not null)
            {
                httpContext.Response.Headers[ContinuationHeader] = continuation;
            }

            httpContext.Response.ContentType = "application/json; charset=utf-8";
            await httpContext.Response.WriteAsync(body.ToJsonString(BodyJson)).ConfigureAwait(false);
        }
    }
}
