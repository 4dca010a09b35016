using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Cronos;

namespace EnvFabric.Core.Tasks;

/// <summary>What makes a task due.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TriggerKind>))]
public enum TriggerKind
{
    /// <summary>Once, at creation.</summary>
    [JsonStringEnumMemberName("now")]
    Now,

    /// <summary>Once, <see cref="TaskTrigger.DelaySeconds"/> after creation.</summary>
    [JsonStringEnumMemberName("delay")]
    Delay,

    /// <summary>On every occurrence of <see cref="TaskTrigger.CronExpression"/> in <see cref="TaskTrigger.TimeZone"/>.</summary>
    [JsonStringEnumMemberName("cron")]
    Cron,

    /// <summary>Every <see cref="TaskTrigger.IntervalSeconds"/>, at a fixed rate.</summary>
    [JsonStringEnumMemberName("interval")]
    Interval,

    /// <summary>Once, at <see cref="TaskTrigger.RunAt"/>.</summary>
    [JsonStringEnumMemberName("date")]
    Date,
}

/// <summary>
/// A task's trigger and its due times. Every method is pure: the instant it is evaluated at is an argument.
/// <para>
/// Cron expressions are evaluated by Cronos in <see cref="TimeZone"/> (UTC when null), and their due times carry
/// that zone's offset. Daylight saving follows Cronos: an occurrence that falls in the hour skipped in spring runs
/// at the first valid time after the gap (02:30 becomes 03:00); in autumn a daily occurrence in the repeated hour
/// runs once, while an expression with <c>*</c>, a range or a step in its second, minute or hour field
/// (<c>*/30 * * * *</c>) runs in both copies of the hour.
/// </para>
/// <para>
/// Missed occurrences are not replayed. <see cref="NextDue"/> is called after a run with the instant it was due and
/// the current instant; when the host was down (or the task paused) past several occurrences, the next due time is
/// the first occurrence at or after now, so a <c>*/10 * * * *</c> task whose host was down for a day runs once on
/// restart, not 144 times.
/// </para>
/// </summary>
public sealed record TaskTrigger
{
    /// <summary>The trigger's kind; the property of that kind is set, the others are null.</summary>
    public TriggerKind Kind { get; init; }

    /// <summary>The cron expression as given: 5 fields, or 6 with seconds first.</summary>
    public string? CronExpression { get; init; }

    /// <summary>IANA time zone id for <see cref="CronExpression"/> (and the zone a <see cref="RunAt"/> without offset was read in); null means UTC.</summary>
    public string? TimeZone { get; init; }

    /// <summary>Seconds from creation to the single run of a <see cref="TriggerKind.Delay"/> trigger.</summary>
    public int? DelaySeconds { get; init; }

    /// <summary>Seconds between the due times of an <see cref="TriggerKind.Interval"/> trigger.</summary>
    public int? IntervalSeconds { get; init; }

    /// <summary>The instant of the single run of a <see cref="TriggerKind.Date"/> trigger.</summary>
    public DateTimeOffset? RunAt { get; init; }

    /// <summary>Whether the trigger fires more than once (<see cref="TriggerKind.Cron"/> or <see cref="TriggerKind.Interval"/>).</summary>
    [JsonIgnore]
    public bool Recurring => Kind is TriggerKind.Cron or TriggerKind.Interval;

    /// <summary>
    /// The first due time of a trigger created (or re-armed) at <paramref name="anchor"/>: <c>Now</c> is the anchor,
    /// <c>Delay</c> and <c>Interval</c> the anchor plus their seconds, <c>Date</c> its <see cref="RunAt"/>, <c>Cron</c>
    /// the first occurrence strictly after the anchor. Null when a cron expression has no further occurrence.
    /// </summary>
    /// <exception cref="InvalidOperationException">The property the kind needs is missing or invalid.</exception>
    public DateTimeOffset? FirstDue(DateTimeOffset anchor) => Kind switch
    {
        TriggerKind.Now => anchor,
        TriggerKind.Delay => anchor.AddSeconds(Required(DelaySeconds, nameof(DelaySeconds))),
        TriggerKind.Date => Required(RunAt, nameof(RunAt)),
        TriggerKind.Interval => anchor.AddSeconds(Interval()),
        TriggerKind.Cron => NextOccurrence(anchor),
        _ => throw new InvalidOperationException($"Unknown trigger kind {Kind}."),
    };

    /// <summary>
    /// The due time after a run that was due at <paramref name="previousDue"/>, evaluated at <paramref name="now"/>;
    /// null for the one-shot kinds. Occurrences missed before <paramref name="now"/> are skipped, not replayed:
    /// <c>Cron</c> gives the first occurrence after <paramref name="previousDue"/> that is at or after
    /// <paramref name="now"/>; <c>Interval</c> runs at a fixed rate without drift, giving the first
    /// <c>previousDue + k * interval</c> (k at least 1) at or after <paramref name="now"/>.
    /// A due time equal to <paramref name="now"/> is due, not missed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The property the kind needs is missing or invalid.</exception>
    public DateTimeOffset? NextDue(DateTimeOffset previousDue, DateTimeOffset now)
    {
        switch (Kind)
        {
            case TriggerKind.Cron:
                // Cronos searches strictly after its start: one tick before now makes an occurrence at now count.
                var from = now.AddTicks(-1);
                return NextOccurrence(from > previousDue ? from : previousDue);
            case TriggerKind.Interval:
                var step = TimeSpan.FromSeconds(Interval()).Ticks;
                var behind = (now - previousDue).Ticks;
                var k = behind <= 0 ? 1 : Math.Max(1, (behind + step - 1) / step);
                return previousDue.AddTicks(k * step);
            default:
                return null;
        }
    }

    /// <summary>
    /// The next <paramref name="count"/> due times of the trigger armed at <paramref name="from"/> (the console's
    /// preview): <see cref="FirstDue"/>, then each following due time. One-shot kinds give one; a cron expression
    /// that stops matching gives fewer.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public IReadOnlyList<DateTimeOffset> Preview(DateTimeOffset from, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var times = new List<DateTimeOffset>(Math.Min(count, 100));
        var due = count == 0 ? null : FirstDue(from);
        while (due is { } next && times.Count < count)
        {
            times.Add(next);
            due = NextDue(next, next);
        }

        return times;
    }

    private DateTimeOffset? NextOccurrence(DateTimeOffset after)
    {
        var expression = Required(CronExpression, nameof(CronExpression));
        if (!CronSchedule.TryParse(expression, out var cron, out var detail))
        {
            throw new InvalidOperationException($"The trigger's cron expression is invalid: {detail}");
        }

        return cron.GetNextOccurrence(after, Zone());
    }

    private TimeZoneInfo Zone() =>
        TimeZone is null ? TimeZoneInfo.Utc
        : TimeZones.TryFind(TimeZone, out var zone) ? zone
        : throw new InvalidOperationException($"The trigger's time zone '{TimeZone}' is unknown.");

    private int Interval()
    {
        var seconds = Required(IntervalSeconds, nameof(IntervalSeconds));
        return seconds > 0 ? seconds : throw new InvalidOperationException($"IntervalSeconds must be positive, was {seconds}.");
    }

    private T Required<T>(T? value, string name)
        where T : struct =>
        value ?? throw new InvalidOperationException($"A {Kind} trigger needs {name}.");

    private string Required(string? value, string name) =>
        value ?? throw new InvalidOperationException($"A {Kind} trigger needs {name}.");
}

/// <summary>A trigger's raw form or JSON fields; null, empty or whitespace means absent.</summary>
/// <param name="CronExpression"><c>cron_expression</c>.</param>
/// <param name="DelaySeconds"><c>delay_seconds</c>.</param>
/// <param name="IntervalSeconds"><c>interval_seconds</c>.</param>
/// <param name="RunAt"><c>run_at</c>.</param>
/// <param name="TimeZone"><c>timezone</c>.</param>
public sealed record TriggerFields(string? CronExpression, string? DelaySeconds, string? IntervalSeconds, string? RunAt, string? TimeZone);

/// <summary>Bounds a parsed trigger must respect.</summary>
/// <param name="MaxDelaySeconds">Largest <c>delay_seconds</c> (default a year).</param>
/// <param name="MinIntervalSeconds">Smallest <c>interval_seconds</c>.</param>
/// <param name="MaxIntervalSeconds">Largest <c>interval_seconds</c> (default a year).</param>
public sealed record TriggerLimits(int MaxDelaySeconds = 31_536_000, int MinIntervalSeconds = 1, int MaxIntervalSeconds = 31_536_000);

/// <summary>The outcome of <see cref="TaskTriggerParser.Parse"/>: a trigger or an error, never both.</summary>
/// <param name="Trigger">The trigger, when the fields were valid.</param>
/// <param name="Error">Why they were not.</param>
public sealed record TriggerParse(TaskTrigger? Trigger, TriggerError? Error)
{
    /// <summary>Whether <see cref="Trigger"/> is set.</summary>
    [MemberNotNullWhen(true, nameof(Trigger))]
    public bool IsValid => Trigger is not null;
}

/// <summary>Which rule a trigger's fields broke.</summary>
public enum TriggerErrorKind
{
    /// <summary>More than one of cron_expression, delay_seconds, interval_seconds, run_at.</summary>
    Conflict,

    /// <summary>cron_expression does not parse, has neither 5 nor 6 fields, or never matches.</summary>
    InvalidCron,

    /// <summary>delay_seconds is not a whole number, is negative, or is over the limit.</summary>
    InvalidDelay,

    /// <summary>interval_seconds is not a whole number within the limits.</summary>
    InvalidInterval,

    /// <summary>run_at is not an ISO 8601 date, or not in the future.</summary>
    InvalidRunAt,

    /// <summary>timezone is unknown, or given with a trigger it does not apply to.</summary>
    InvalidTimeZone,
}

/// <summary>A refused trigger, in seed 003's <c>POST /api/tasks</c> wording.</summary>
/// <param name="Kind">The rule broken.</param>
/// <param name="Message">The seed's <c>message</c>.</param>
/// <param name="Error">The seed's <c>error</c>.</param>
/// <param name="Detail">The specific reason without the seed's prefix: for a cron expression the part after
/// <c>Invalid cron expression: </c> (the PUT update words it <c>The provided cron expression is invalid: {Detail}</c>);
/// for the other kinds the same as <see cref="Error"/>.</param>
public sealed record TriggerError(TriggerErrorKind Kind, string Message, string Error, string Detail);

/// <summary>
/// Reads a trigger from the raw fields of a create or update request. The checks run in this order: more than one
/// trigger field (a conflict), then <c>timezone</c> (only with <c>cron_expression</c> or <c>run_at</c>, and an IANA
/// id this machine knows), then the one trigger field. No trigger field means <see cref="TriggerKind.Now"/>.
/// </summary>
public static partial class TaskTriggerParser
{
    /// <summary>The form and JSON field names.</summary>
    public const string CronField = "cron_expression", DelayField = "delay_seconds", IntervalField = "interval_seconds",
        RunAtField = "run_at", TimeZoneField = "timezone";

    // Seed 003, POST /api/tasks.
    internal const string CronAndDelayMessage = "Please specify either cron expression or delay seconds, not both";
    internal const string CronAndDelayError = "Cannot specify both cron_expression and delay_seconds";
    internal const string InvalidCronMessage = "The provided cron expression is invalid";
    internal const string InvalidCronPrefix = "Invalid cron expression: ";
    internal const string InvalidDelayMessage = "Please provide a non-negative delay value";
    internal const string NegativeDelayError = "Delay seconds must be non-negative";

    // The same shape for the fields seed 003 does not have.
    internal const string ConflictMessage = "Please specify only one trigger: cron_expression, delay_seconds, interval_seconds or run_at";
    internal const string FractionalDelayError = "Delay seconds must be a whole number";
    internal const string InvalidIntervalMessage = "Please provide a valid interval";
    internal const string InvalidRunAtMessage = "The provided run_at is invalid";
    internal const string InvalidTimeZoneMessage = "The provided time zone is invalid";
    internal const string TimeZoneNotApplicableError = "timezone applies only to cron_expression and run_at";

    private const int QuotedLength = 100;

    /// <summary>
    /// Parses <paramref name="fields"/> evaluated at <paramref name="now"/> (a <c>run_at</c> must be after it; a cron
    /// expression must match some instant after it).
    /// <para>
    /// <c>delay_seconds</c> and <c>interval_seconds</c> are whole numbers (<c>7200</c>, also <c>7200.0</c> as a JSON
    /// number may arrive). <c>run_at</c> is an ISO 8601 date and time (<c>2025-05-02T15:30:00Z</c>,
    /// <c>2025-05-02T15:30+02:00</c>; a space may replace the <c>T</c>); one without an offset is read in
    /// <c>timezone</c> when given, else in UTC; a local time skipped by a daylight saving change is refused, and one
    /// that occurs twice is the first of the two.
    /// </para>
    /// </summary>
    public static TriggerParse Parse(TriggerFields fields, DateTimeOffset now, TriggerLimits limits)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(limits);

        var cron = Clean(fields.CronExpression);
        var delay = Clean(fields.DelaySeconds);
        var interval = Clean(fields.IntervalSeconds);
        var runAt = Clean(fields.RunAt);
        var zoneId = Clean(fields.TimeZone);

        var given = new List<string>(4);
        if (cron is not null)
        {
            given.Add(CronField);
        }

        if (delay is not null)
        {
            given.Add(DelayField);
        }

        if (interval is not null)
        {
            given.Add(IntervalField);
        }

        if (runAt is not null)
        {
            given.Add(RunAtField);
        }

        if (given.Count > 1)
        {
            return given[0] == CronField && given[1] == DelayField
                ? Fail(TriggerErrorKind.Conflict, CronAndDelayMessage, CronAndDelayError)
                : Fail(TriggerErrorKind.Conflict, ConflictMessage, $"Cannot specify both {given[0]} and {given[1]}");
        }

        var zone = TimeZoneInfo.Utc;
        if (zoneId is not null)
        {
            if (cron is null && runAt is null)
            {
                return Fail(TriggerErrorKind.InvalidTimeZone, InvalidTimeZoneMessage, TimeZoneNotApplicableError);
            }

            if (!TimeZones.TryFind(zoneId, out zone))
            {
                return Fail(TriggerErrorKind.InvalidTimeZone, InvalidTimeZoneMessage, $"Unknown time zone: {Quote(zoneId)}");
            }
        }

        if (cron is not null)
        {
            return ParseCron(cron, zoneId, zone, now);
        }

        if (delay is not null)
        {
            return ParseDelay(delay, limits);
        }

        if (interval is not null)
        {
            return ParseInterval(interval, limits);
        }

        if (runAt is not null)
        {
            return ParseRunAt(runAt, zoneId, zone, now);
        }

        return new TriggerParse(new TaskTrigger { Kind = TriggerKind.Now }, null);
    }

    private static TriggerParse ParseCron(string expression, string? zoneId, TimeZoneInfo zone, DateTimeOffset now)
    {
        if (!CronSchedule.TryParse(expression, out var cron, out var detail))
        {
            return FailCron(detail);
        }

        if (cron.GetNextOccurrence(now, zone) is null)
        {
            return FailCron("the expression never matches a date");
        }

        return new TriggerParse(new TaskTrigger { Kind = TriggerKind.Cron, CronExpression = expression, TimeZone = zoneId }, null);
    }

    private static TriggerParse ParseDelay(string text, TriggerLimits limits)
    {
        var error = ParseWholeNumber(text, out var seconds) switch
        {
            WholeNumber.Negative => NegativeDelayError,
            WholeNumber.NotWhole => FractionalDelayError,
            _ when seconds > limits.MaxDelaySeconds => $"Delay seconds must be at most {limits.MaxDelaySeconds}",
            _ => null,
        };

        return error is null
            ? new TriggerParse(new TaskTrigger { Kind = TriggerKind.Delay, DelaySeconds = (int)seconds }, null)
            : Fail(TriggerErrorKind.InvalidDelay, InvalidDelayMessage, error);
    }

    private static TriggerParse ParseInterval(string text, TriggerLimits limits)
    {
        if (ParseWholeNumber(text, out var seconds) != WholeNumber.Ok
            || seconds < limits.MinIntervalSeconds || seconds > limits.MaxIntervalSeconds || seconds < 1)
        {
            return Fail(TriggerErrorKind.InvalidInterval, InvalidIntervalMessage,
                $"Interval seconds must be a whole number between {limits.MinIntervalSeconds} and {limits.MaxIntervalSeconds}");
        }

        return new TriggerParse(new TaskTrigger { Kind = TriggerKind.Interval, IntervalSeconds = (int)seconds }, null);
    }

    private static TriggerParse ParseRunAt(string text, string? zoneId, TimeZoneInfo zone, DateTimeOffset now)
    {
        var match = IsoDateTime().Match(text);
        if (!match.Success
            || !DateTime.TryParseExact($"{match.Groups["date"].Value}T{match.Groups["time"].Value}", IsoFormats,
                CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return FailRunAt($"run_at is not an ISO 8601 date: {Quote(text)}");
        }

        TimeSpan offset;
        var offsetText = match.Groups["offset"].Value;
        if (offsetText.Length > 0)
        {
            if (!TryParseOffset(offsetText, out offset))
            {
                return FailRunAt($"run_at is not an ISO 8601 date: {Quote(text)}");
            }
        }
        else if (zone.IsInvalidTime(local))
        {
            return FailRunAt($"run_at does not exist in time zone '{zone.Id}' (skipped by a daylight saving change): {Quote(text)}");
        }
        else
        {
            // A wall-clock time that occurs twice (autumn) is its first occurrence, the one with the larger offset.
            offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        }

        DateTimeOffset at;
        try
        {
            at = new DateTimeOffset(local, offset);
        }
        catch (ArgumentOutOfRangeException)
        {
            // The instant falls outside DateTimeOffset's range (year 1 or 9999 with an offset).
            return FailRunAt($"run_at is not an ISO 8601 date: {Quote(text)}");
        }

        if (at <= now)
        {
            return FailRunAt($"run_at must be an ISO 8601 date in the future: {Quote(text)}");
        }

        return new TriggerParse(new TaskTrigger { Kind = TriggerKind.Date, RunAt = at, TimeZone = zoneId }, null);
    }

    private static bool TryParseOffset(string text, out TimeSpan offset)
    {
        offset = TimeSpan.Zero;
        if (text is "Z" or "z")
        {
            return true;
        }

        var digits = text[1..].Replace(":", "", StringComparison.Ordinal);
        var hours = int.Parse(digits.AsSpan(0, 2), CultureInfo.InvariantCulture);
        var minutes = digits.Length > 2 ? int.Parse(digits.AsSpan(2, 2), CultureInfo.InvariantCulture) : 0;
        if (hours > 14 || minutes > 59 || (hours == 14 && minutes > 0))
        {
            return false;
        }

        offset = new TimeSpan(hours, minutes, 0);
        if (text[0] == '-')
        {
            offset = -offset;
        }

        return true;
    }

    private enum WholeNumber
    {
        Ok,
        NotWhole,
        Negative,
    }

    // Whole numbers beyond long's range read as long.MaxValue: they are over every limit.
    private static WholeNumber ParseWholeNumber(string text, out long value)
    {
        value = 0;
        if (Integer().IsMatch(text))
        {
            if (text[0] == '-')
            {
                return text.AsSpan(1).TrimStart('0').IsEmpty ? WholeNumber.Ok : WholeNumber.Negative;
            }

            if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
            {
                value = long.MaxValue;
            }

            return WholeNumber.Ok;
        }

        if (!decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return WholeNumber.NotWhole;
        }

        if (number < 0)
        {
            return WholeNumber.Negative;
        }

        if (number != decimal.Truncate(number))
        {
            return WholeNumber.NotWhole;
        }

        value = number > long.MaxValue ? long.MaxValue : (long)number;
        return WholeNumber.Ok;
    }

    private static readonly string[] IsoFormats = ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF"];

    [GeneratedRegex(@"^(?<date>\d{4}-\d{2}-\d{2})[Tt ](?<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?)(?<offset>[Zz]|[+-]\d{2}(?::?\d{2})?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex IsoDateTime();

    [GeneratedRegex(@"^[+-]?[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Integer();

    private static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    // Values are echoed in error bodies; a pasted file should not come back whole.
    private static string Quote(string value) =>
        value.Length <= QuotedLength ? $"'{value}'" : $"'{value[..QuotedLength]}...'";

    private static TriggerParse Fail(TriggerErrorKind kind, string message, string error) =>
        new(null, new TriggerError(kind, message, error, error));

    private static TriggerParse FailCron(string detail) =>
        new(null, new TriggerError(TriggerErrorKind.InvalidCron, InvalidCronMessage, InvalidCronPrefix + detail, detail));

    private static TriggerParse FailRunAt(string error) => Fail(TriggerErrorKind.InvalidRunAt, InvalidRunAtMessage, error);
}

/// <summary>Cron parsing shared by the parser and the trigger: the format is chosen by the number of fields.</summary>
internal static class CronSchedule
{
    private static readonly char[] Separators = [' ', '\t'];

    public static bool TryParse(string expression, [NotNullWhen(true)] out CronExpression? cron, [NotNullWhen(false)] out string? detail)
    {
        cron = null;
        var fields = expression.Split(Separators, StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (5 or 6))
        {
            detail = $"expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got {fields}";
            return false;
        }

        try
        {
            cron = Cronos.CronExpression.Parse(expression, fields == 5 ? CronFormat.Standard : CronFormat.IncludeSeconds);
            detail = null;
            return true;
        }
        catch (CronFormatException ex)
        {
            detail = ex.Message;
            return false;
        }
    }
}

/// <summary>IANA time zones by id, cached; ids are matched exactly (case-sensitive, as the zone files are).</summary>
internal static partial class TimeZones
{
    private static readonly ConcurrentDictionary<string, TimeZoneInfo> Known = new(StringComparer.Ordinal);

    public static bool TryFind(string id, [NotNullWhen(true)] out TimeZoneInfo? zone)
    {
        if (Known.TryGetValue(id, out zone))
        {
            return true;
        }

        // The id names a file under the zoneinfo directory: no traversal, no odd characters.
        if (!ZoneId().IsMatch(id) || id.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or SecurityException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            // SecurityException is what .NET throws for a directory such as "Europe".
            return false;
        }

        // .NET's own cache matches ids case-insensitively once a zone was loaded; keep the answer independent of history.
        if (!string.Equals(zone.Id, id, StringComparison.Ordinal))
        {
            zone = null;
            return false;
        }

        Known.TryAdd(id, zone);
        return true;
    }

    [GeneratedRegex("^[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+){0,3}$", RegexOptions.CultureInvariant)]
    private static partial Regex ZoneId();
}
