using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EnvFabric.Durable;

/// <summary>
/// Durable Functions' HTTP helpers for long operations: the 202 check-status response and
/// <c>WaitForCompletionOrCreateCheckStatusResponseAsync</c>.
/// </summary>
public static class DurableHttp
{
    /// <summary>Retry-After seconds of a 202, as Durable Functions sends.</summary>
    public const int RetryAfterSeconds = 10;

    private static readonly JsonSerializerOptions PayloadJson = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// 202 Accepted with Durable Functions' check-status payload (<c>id</c>, <c>statusQueryGetUri</c>,
    /// <c>sendEventPostUri</c>, <c>terminatePostUri</c>, <c>purgeHistoryDeleteUri</c>, <c>suspendPostUri</c>,
    /// <c>resumePostUri</c>) and the <c>Location</c> and <c>Retry-After</c> headers.
    /// </summary>
    public static IResult CreateCheckStatusResponse(HttpRequest request, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        var payload = CreateCheckStatusPayload(request, instanceId);
        return new CheckStatusResult(payload, StatusCodes.Status202Accepted, payload["statusQueryGetUri"]);
    }

    /// <summary>The check-status payload's URLs for <paramref name="instanceId"/>, built from the request's scheme and host.</summary>
    public static IReadOnlyDictionary<string, string> CreateCheckStatusPayload(HttpRequest request, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(request);
        var prefix = request.HttpContext.RequestServices.GetService<IOptions<DurableTaskOptions>>()?.Value.ManagementRoutePrefix
            ?? "/runtime/webhooks/durabletask";
        var instanceUrl = $"{request.Scheme}://{request.Host}{request.PathBase}/{prefix.Trim('/')}/instances/{Uri.EscapeDataString(instanceId)}";
        return new Dictionary<string, string>
        {
            ["id"] = instanceId,
            ["statusQueryGetUri"] = instanceUrl,
            ["sendEventPostUri"] = instanceUrl + "/raiseEvent/{eventName}",
            ["terminatePostUri"] = instanceUrl + "/terminate?reason={text}",
            ["purgeHistoryDeleteUri"] = instanceUrl,
            ["restartPostUri"] = instanceUrl + "/restart",
            ["suspendPostUri"] = instanceUrl + "/suspend?reason={text}",
            ["resumePostUri"] = instanceUrl + "/resume?reason={text}",
        };
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the instance to finish: 200 with the output (JSON) when it
    /// completed, 200 with its status body when it failed or was terminated, else the 202 check-status response.
    /// </summary>
    public static async Task<IResult> WaitForCompletionOrCreateCheckStatusResponseAsync(HttpRequest request, DurableTaskClient client, string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(timeout);
        OrchestrationMetadata? done = null;
        try
        {
            done = await client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }

        if (done is null)
        {
            return CreateCheckStatusResponse(request, instanceId);
        }

        if (done.RuntimeStatus == OrchestrationRuntimeStatus.Completed)
        {
            return new RawJsonResult(done.SerializedOutput ?? "null", StatusCodes.Status200OK);
        }

        return Results.Json(ManagementEndpoints.StatusBody(done, null, showInput: true), PayloadJson, statusCode: StatusCodes.Status200OK);
    }

    /// <summary>As <see cref="CreateCheckStatusResponse(HttpRequest, string)"/>, in Durable Functions' client-method form.</summary>
    public static IResult CreateCheckStatusResponse(this DurableTaskClient client, HttpRequest request, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(client);
        return CreateCheckStatusResponse(request, instanceId);
    }

    /// <summary>As <see cref="WaitForCompletionOrCreateCheckStatusResponseAsync(HttpRequest, DurableTaskClient, string, TimeSpan, CancellationToken)"/>, in client-method form.</summary>
    public static Task<IResult> WaitForCompletionOrCreateCheckStatusResponseAsync(this DurableTaskClient client, HttpRequest request, string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitForCompletionOrCreateCheckStatusResponseAsync(request, client, instanceId, timeout, cancellationToken);

    internal sealed class CheckStatusResult(object body, int statusCode, string location) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            httpContext.Response.StatusCode = statusCode;
            httpContext.Response.Headers.Location = location;
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            await httpContext.Response.WriteAsJsonAsync(body, body.GetType(), PayloadJson).ConfigureAwait(false);
        }
    }

    internal sealed class RawJsonResult(string json, int statusCode) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            httpContext.Response.StatusCode = statusCode;
            httpContext.Response.ContentType = "application/json; charset=utf-8";
            await httpContext.Response.WriteAsync(json).ConfigureAwait(false);
        }
    }
}
