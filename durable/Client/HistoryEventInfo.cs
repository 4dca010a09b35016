using System.Globalization;
using System.Text.Json;
using DurableTask.Core.History;
using Microsoft.DurableTask;

namespace EnvFabric.Durable.Client;

/// <summary>One event of an instance's history, as the management API shows it.</summary>
/// <param name="EventType">The event type (ExecutionStarted, TaskScheduled, TaskCompleted, ...).</param>
/// <param name="EventId">The scheduling id, or -1.</param>
/// <param name="Timestamp">When the event was recorded.</param>
/// <param name="Name">The task, timer, event or orchestration name, when there is one.</param>
/// <param name="Input">The input or payload JSON.</param>
/// <param name="Result">The result JSON.</param>
/// <param name="ScheduledId">For responses, the id of the scheduling event (a fired timer: its TimerId).</param>
/// <param name="FireAt">For timers, when they fire.</param>
/// <param name="FailureDetails">For failures, the details.</param>
public sealed record HistoryEventInfo(
    string EventType,
    int EventId,
    DateTime Timestamp,
    string? Name,
    string? Input,
    string? Result,
    int? ScheduledId,
    DateTime? FireAt,
    TaskFailureDetails? FailureDetails)
{
    /// <summary>
    /// Reads the provider's history JSON (DTFx history events serialized by Newtonsoft: <c>EventType</c> as a
    /// number, the event's own fields beside it).
    /// </summary>
    public static IReadOnlyList<HistoryEventInfo> ParseProviderHistory(string json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return [];
        }

        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var events = new List<HistoryEventInfo>(document.RootElement.GetArrayLength());
        foreach (var item in document.RootElement.EnumerateArray())
        {
            var type = item.TryGetProperty(nameof(EventType), out var t) && t.ValueKind == JsonValueKind.Number
                ? ((EventType)t.GetInt32()).ToString()
                : Text(item, nameof(EventType)) ?? "Unknown";
            events.Add(new HistoryEventInfo(
                type,
                Number(item, "EventId") ?? -1,
                Time(item, "Timestamp") ?? default,
                Text(item, "Name"),
                Text(item, "Input"),
                Text(item, "Result") ?? Text(item, "Reason"),
                Number(item, "TaskScheduledId") ?? Number(item, "TimerId"),
                Time(item, "FireAt"),
                item.TryGetProperty(nameof(FailureDetails), out var f) && f.ValueKind == JsonValueKind.Object ? Failure(f) : null));
        }

        return events;
    }

    private static string? Text(JsonElement item, string name) =>
        item.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Number(JsonElement item, string name) =>
        item.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    private static DateTime? Time(JsonElement item, string name) =>
        Text(item, name) is { } text && DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : null;

    private static TaskFailureDetails Failure(JsonElement failure)
    {
        var inner = failure.TryGetProperty("InnerFailure", out var i) && i.ValueKind == JsonValueKind.Object ? Failure(i) : null;
        return new TaskFailureDetails(Text(failure, "ErrorType") ?? "Exception", Text(failure, "ErrorMessage") ?? string.Empty, Text(failure, "StackTrace"), inner, null);
    }
}
