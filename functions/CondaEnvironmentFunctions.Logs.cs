using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using EnvFabric.Activities.Environments;
using EnvFabric.Core.Audit;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using Microsoft.DurableTask.Client;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace EnvFabric.Functions;

/// <summary>What the install-log handler needs.</summary>
public sealed class EnvironmentLogServices
{
    public required HttpContext Context { get; init; }

    [FromServices]
    public required IEnvironmentRepository Environments { get; init; }

    [FromServices]
    public required IAuditLog Audit { get; init; }

    [FromServices]
    public required DurableTaskClient Durable { get; init; }

    [FromServices]
    public required StorageAccount Storage { get; init; }

    [FromServices]
    public required StorageNames Names { get; init; }
}

public static partial class CondaEnvironmentFunctions
{
    private static readonly TimeSpan LogPollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Seed 004's install logs: the latest operation's log, or one by <c>operation_id</c>; with
    /// <c>?stream=true</c> (or <c>Accept: text/event-stream</c>) an SSE stream that follows it while it runs.
    /// </summary>
    public static async Task<Results<Ok<CondaInstallLog>, ServerSentEventsResult<string>, JsonHttpResult<CondaError>>> GetLogs(
        string name, [FromQuery(Name = "operation_id")] string? operationId, bool? stream, [AsParameters] EnvironmentLogServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var aborted = s.Context.RequestAborted;
        if (Core.Validation.EnvironmentName.Validate(name) is { } nameError)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid environment name", nameError);
        }

        var record = await s.Environments.GetAsync(name, aborted);
        var id = operationId ?? record?.LastOperationId;
        if (id is null || id.Length > 100 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            return record is null
                ? NotFound(name)
                : ErrorBodies.Conda(StatusCodes.Status404NotFound, $"No install log for '{name}'", operationId is null ? "The environment has no recorded operation" : $"'{operationId}' is not an operation id");
        }

        // The operation must belong to this environment: its latest one, a running or finished orchestration
        // on it (a run holds no lock, so it is not the "latest"), or an audited one under this name.
        var operation = record?.LastOperationId == id ? record.LastOperation : null;
        if (operation is null && await s.Durable.GetInstanceAsync(id, getInputsAndOutputs: true, aborted) is { } running
            && running.ReadInputAs<EnvBuildInput>() is { } input && (input.Environment == name || input.NewName == name))
        {
            operation = input.Operation;
        }

        if (operation is null)
        {
            var audited = await s.Audit.QueryAsync(new AuditQuery { OperationId = id, Limit = 1 }, aborted);
            if (audited.Count == 0 || audited[0].Environment != name)
            {
                return ErrorBodies.Conda(StatusCodes.Status404NotFound, $"No install log for '{name}'", $"Operation '{id}' is not an operation of this environment");
            }

            operation = audited[0].Operation;
        }

        var container = s.Storage.Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(s.Names));
        var blob = DispatchRunnerJobActivity.LogBlobName(id);
        var wantsStream = stream == true || s.Context.Request.Headers.Accept.Any(a => a?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true);
        if (wantsStream)
        {
            return TypedResults.ServerSentEvents(Follow(s.Durable, container, blob, id, aborted));
        }

        var chunk = await RunnerLogs.ReadAsync(container, blob, 0, aborted);
        var instance = await s.Durable.GetInstanceAsync(id, getInputsAndOutputs: true, aborted);
        return TypedResults.Ok(new CondaInstallLog(true, name, id, operation, StatusOf(instance), chunk.Text, chunk.Complete || instance?.IsCompleted == true));
    }

    private static async IAsyncEnumerable<SseItem<string>> Follow(
        DurableTaskClient durable, Azure.Storage.Blobs.BlobContainerClient container, string blob, string operationId, [EnumeratorCancellation] CancellationToken aborted)
    {
        long offset = 0;
        var pending = "";
        while (!aborted.IsCancellationRequested)
        {
            var chunk = await RunnerLogs.ReadAsync(container, blob, offset, aborted);
            offset = chunk.NextOffset;
            pending += chunk.Text;
            var lastBreak = pending.LastIndexOf('\n');
            if (lastBreak >= 0)
            {
                foreach (var line in pending[..lastBreak].Split('\n'))
                {
                    yield return new SseItem<string>(line.TrimEnd('\r'), "log");
                }

                pending = pending[(lastBreak + 1)..];
            }

            // Finished when the log says so, or when the operation ended without a (complete) log, e.g. refused.
            var instance = chunk.Complete ? null : await durable.GetInstanceAsync(operationId, getInputsAndOutputs: true, aborted);
            if (chunk.Complete || instance is null || instance.IsCompleted)
            {
                if (chunk.Text.Length == 0 || chunk.Complete)
                {
                    if (pending.Length > 0)
                    {
                        yield return new SseItem<string>(pending, "log");
                    }

                    // The log can be whole a moment before the operation has recorded and audited; wait for that.
                    if (instance is null || instance.IsRunning)
                    {
                        using var bound = CancellationTokenSource.CreateLinkedTokenSource(aborted);
                        bound.CancelAfter(TimeSpan.FromSeconds(30));
                        try
                        {
                            instance = await durable.WaitForInstanceCompletionAsync(operationId, getInputsAndOutputs: true, bound.Token);
                        }
                        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
                        {
                            instance = await durable.GetInstanceAsync(operationId, getInputsAndOutputs: true, aborted);
                        }
                    }

                    yield return new SseItem<string>(StatusOf(instance), "end");
                    yield break;
                }

                continue;
            }

            await Task.Delay(LogPollInterval, aborted);
        }
    }

    private static string StatusOf(OrchestrationMetadata? instance) => instance switch
    {
        null => "unknown",
        { IsRunning: true } => "running",
        { RuntimeStatus: OrchestrationRuntimeStatus.Completed } => instance.ReadOutputAs<EnvBuildResult>()?.Succeeded == true ? "succeeded" : "failed",
        _ => "failed",
    };
}

public sealed record CondaInstallLog(bool Success, string Environment, string OperationId, string? Operation, string Status, string Log, bool Complete);
