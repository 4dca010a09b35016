using System.Globalization;
using EnvFabric.Core.Tasks;
using EnvFabric.Functions.Http;

namespace EnvFabric.Functions;

/// <summary><c>GET /api/tasks/cron-preview</c>: the next due times of a cron expression as the engine computes them.</summary>
public sealed record CronPreviewAnswer(bool Success, string CronExpression, string Timezone, IReadOnlyList<string> NextRuns, IReadOnlyList<string> NextRunsLocal);

public static partial class TaskFunctions
{
    private const int MaxPreviewCount = 50;

    /// <summary>
    /// The next <paramref name="count"/> (default 5, at most 50) due times of <paramref name="cron"/> in
    /// <paramref name="timezone"/> (default UTC), read-only: the expression goes through the same trigger parser as
    /// <c>POST /api/tasks</c>, so a refusal carries the message and error the create call would give, and the times
    /// are <see cref="TaskTrigger.Preview"/>'s (Cronos, as the schedules use).
    /// </summary>
    public static IResult CronPreview(string? cron, int? count, string? timezone, [AsParameters] TaskServices s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (string.IsNullOrWhiteSpace(cron))
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Missing required field", "cron is required");
        }

        if (count is < 1 or > MaxPreviewCount)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, "Invalid count", $"count must be between 1 and {MaxPreviewCount}");
        }

        var now = s.Time.GetUtcNow();
        var parsed = TaskTriggerParser.Parse(new TriggerFields(cron, null, null, null, timezone), now, s.Options.Triggers);
        if (parsed.Error is { } error)
        {
            return ErrorBodies.Conda(StatusCodes.Status400BadRequest, error.Message, error.Error);
        }

        var trigger = parsed.Trigger!;
        var zone = trigger.TimeZone is { } id ? TimeZoneInfo.FindSystemTimeZoneById(id) : TimeZoneInfo.Utc;
        var times = trigger.Preview(now, count ?? 5);
        return TypedResults.Ok(new CronPreviewAnswer(
            true,
            trigger.CronExpression ?? cron.Trim(),
            trigger.TimeZone ?? "UTC",
            times.Select(t => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)).ToList(),
            times.Select(t => TimeZoneInfo.ConvertTime(t, zone).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture)).ToList()));
    }
}
