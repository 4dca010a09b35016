using EnvFabric.Core.Tasks;

namespace EnvFabric.Core.Tests.Tasks;

public sealed class TaskTriggerParserTests
{
    private static readonly DateTimeOffset Now = new(2025, 5, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly TriggerLimits Limits = new();

    private static TriggerParse Parse(string? cron = null, string? delay = null, string? interval = null, string? runAt = null, string? zone = null, TriggerLimits? limits = null) =>
        TaskTriggerParser.Parse(new TriggerFields(cron, delay, interval, runAt, zone), Now, limits ?? Limits);

    private static TaskTrigger Valid(TriggerParse parse)
    {
        Assert.Null(parse.Error);
        Assert.True(parse.IsValid);
        return parse.Trigger;
    }

    private static TriggerError Refused(TriggerParse parse, TriggerErrorKind kind)
    {
        Assert.Null(parse.Trigger);
        Assert.False(parse.IsValid);
        Assert.NotNull(parse.Error);
        Assert.Equal(kind, parse.Error.Kind);
        return parse.Error;
    }

    [Fact]
    public void Parse_NoField_IsNow()
    {
        Assert.Equal(new TaskTrigger { Kind = TriggerKind.Now }, Valid(Parse()));
        Assert.Equal(TriggerKind.Now, Valid(Parse(cron: "", delay: "  ", interval: "\t", runAt: "\n")).Kind);
    }

    [Fact]
    public void Parse_CronAndDelay_GivesSeedStrings()
    {
        var error = Refused(Parse(cron: "*/10 * * * *", delay: "60"), TriggerErrorKind.Conflict);

        Assert.Equal("Please specify either cron expression or delay seconds, not both", error.Message);
        Assert.Equal("Cannot specify both cron_expression and delay_seconds", error.Error);
        Assert.Equal(error.Error, error.Detail);
    }

    [Fact]
    public void Parse_ConflictComesFirst_EvenWithInvalidValues()
    {
        var error = Refused(Parse(cron: "bad", delay: "-1", interval: "x", zone: "Mars/Olympus"), TriggerErrorKind.Conflict);

        Assert.Equal("Cannot specify both cron_expression and delay_seconds", error.Error);
    }

    [Theory]
    [InlineData("cron_expression", "interval_seconds")]
    [InlineData("cron_expression", "run_at")]
    [InlineData("delay_seconds", "interval_seconds")]
    [InlineData("delay_seconds", "run_at")]
    [InlineData("interval_seconds", "run_at")]
    public void Parse_OtherPairs_NameBothFieldsInOrder(string first, string second)
    {
        string? Value(string field, string value) => field == first || field == second ? value : null;

        var error = Refused(
            Parse(Value("cron_expression", "* * * * *"), Value("delay_seconds", "5"), Value("interval_seconds", "5"), Value("run_at", "2030-01-01T00:00:00Z")),
            TriggerErrorKind.Conflict);

        Assert.Equal("Please specify only one trigger: cron_expression, delay_seconds, interval_seconds or run_at", error.Message);
        Assert.Equal($"Cannot specify both {first} and {second}", error.Error);
    }

    [Theory]
    [InlineData("*/10 * * * *")]
    [InlineData("0 9 * * 1-5")]
    [InlineData("0 0 L * *")]
    public void Parse_Cron5Fields_IsCron(string expression)
    {
        var trigger = Valid(Parse(cron: expression));

        Assert.Equal(new TaskTrigger { Kind = TriggerKind.Cron, CronExpression = expression }, trigger);
        Assert.True(trigger.Recurring);
    }

    [Fact]
    public void Parse_Cron6Fields_HasSeconds()
    {
        var trigger = Valid(Parse(cron: "  */30 * * * * *  "));

        Assert.Equal("*/30 * * * * *", trigger.CronExpression);
        Assert.Equal(new DateTimeOffset(2025, 5, 2, 10, 0, 30, TimeSpan.Zero), trigger.FirstDue(Now));
    }

    [Fact]
    public void Parse_CronWithTimeZone_KeepsTheZone()
    {
        var trigger = Valid(Parse(cron: "0 9 * * *", zone: "Europe/Berlin"));

        Assert.Equal("Europe/Berlin", trigger.TimeZone);
        Assert.Equal(new DateTimeOffset(2025, 5, 3, 9, 0, 0, TimeSpan.FromHours(2)), trigger.FirstDue(Now));
    }

    [Theory]
    [InlineData("61 * * * *", "Minutes: Value must be a number between 0 and 59")]
    [InlineData("* * * * 8", "Days of week")]
    [InlineData("*/0 * * * *", "Minutes")]
    [InlineData("abc * * * *", "Minutes")]
    public void Parse_CronCronosRefuses_CarriesCronosMessage(string expression, string fragment)
    {
        var error = Refused(Parse(cron: expression), TriggerErrorKind.InvalidCron);

        Assert.Equal("The provided cron expression is invalid", error.Message);
        Assert.StartsWith("The given cron expression has an invalid format.", error.Detail, StringComparison.Ordinal);
        Assert.Contains(fragment, error.Detail, StringComparison.Ordinal);
        Assert.Equal("Invalid cron expression: " + error.Detail, error.Error);
    }

    [Theory]
    [InlineData("* * * *", 4)]
    [InlineData("* * * * * * *", 7)]
    [InlineData("@daily", 1)]
    public void Parse_CronWrongFieldCount_SaysHowManyFields(string expression, int fields)
    {
        var error = Refused(Parse(cron: expression), TriggerErrorKind.InvalidCron);

        Assert.Equal($"Invalid cron expression: expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got {fields}", error.Error);
        Assert.Equal($"expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got {fields}", error.Detail);
    }

    [Theory]
    [InlineData("0 0 30 2 *")]
    [InlineData("0 0 31 4 *")]
    public void Parse_CronThatNeverFires_IsInvalid(string expression)
    {
        var error = Refused(Parse(cron: expression), TriggerErrorKind.InvalidCron);

        Assert.Equal("Invalid cron expression: the expression never matches a date", error.Error);
        Assert.Equal("the expression never matches a date", error.Detail);
    }

    [Theory]
    [InlineData("3600", 3600)]
    [InlineData("0", 0)]
    [InlineData("+15", 15)]
    [InlineData("7200.0", 7200)]
    [InlineData("31536000", 31_536_000)]
    public void Parse_Delay_IsDelay(string text, int seconds)
    {
        Assert.Equal(new TaskTrigger { Kind = TriggerKind.Delay, DelaySeconds = seconds }, Valid(Parse(delay: text)));
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("-0.5")]
    [InlineData("-99999999999999999999999")]
    public void Parse_NegativeDelay_GivesSeedStrings(string text)
    {
        var error = Refused(Parse(delay: text), TriggerErrorKind.InvalidDelay);

        Assert.Equal("Please provide a non-negative delay value", error.Message);
        Assert.Equal("Delay seconds must be non-negative", error.Error);
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("abc")]
    [InlineData("1,000")]
    [InlineData("0x10")]
    [InlineData("NaN")]
    public void Parse_NonIntegerDelay_SaysWholeNumber(string text)
    {
        var error = Refused(Parse(delay: text), TriggerErrorKind.InvalidDelay);

        Assert.Equal("Please provide a non-negative delay value", error.Message);
        Assert.Equal("Delay seconds must be a whole number", error.Error);
    }

    [Theory]
    [InlineData("31536001")]
    [InlineData("99999999999999999999999")]
    public void Parse_DelayOverLimit_SaysTheLimit(string text)
    {
        var error = Refused(Parse(delay: text), TriggerErrorKind.InvalidDelay);

        Assert.Equal("Please provide a non-negative delay value", error.Message);
        Assert.Equal("Delay seconds must be at most 31536000", error.Error);
    }

    [Fact]
    public void Parse_DelayOverCustomLimit_SaysThatLimit()
    {
        var error = Refused(Parse(delay: "11", limits: new TriggerLimits(MaxDelaySeconds: 10)), TriggerErrorKind.InvalidDelay);

        Assert.Equal("Delay seconds must be at most 10", error.Error);
    }

    [Fact]
    public void Parse_Interval_IsInterval()
    {
        Assert.Equal(new TaskTrigger { Kind = TriggerKind.Interval, IntervalSeconds = 60 }, Valid(Parse(interval: "60")));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("often")]
    [InlineData("31536001")]
    public void Parse_InvalidInterval_SaysTheRange(string text)
    {
        var error = Refused(Parse(interval: text), TriggerErrorKind.InvalidInterval);

        Assert.Equal("Please provide a valid interval", error.Message);
        Assert.Equal("Interval seconds must be a whole number between 1 and 31536000", error.Error);
    }

    [Fact]
    public void Parse_IntervalUnderCustomMinimum_SaysThatRange()
    {
        var error = Refused(Parse(interval: "59", limits: new TriggerLimits(MinIntervalSeconds: 60, MaxIntervalSeconds: 86_400)), TriggerErrorKind.InvalidInterval);

        Assert.Equal("Interval seconds must be a whole number between 60 and 86400", error.Error);
    }

    [Theory]
    [InlineData("2025-06-01T12:00:00Z")]
    [InlineData("2025-06-01T12:00:00z")]
    [InlineData("2025-06-01T12:00Z")]
    [InlineData("2025-06-01T14:00:00+02:00")]
    [InlineData("2025-06-01T14:00+0200")]
    [InlineData("2025-06-01T07:00:00-05")]
    [InlineData("2025-06-01 12:00:00Z")]
    public void Parse_RunAtWithOffset_IsThatInstant(string text)
    {
        var trigger = Valid(Parse(runAt: text));

        Assert.Equal(TriggerKind.Date, trigger.Kind);
        Assert.Equal(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero), trigger.RunAt);
        Assert.Null(trigger.TimeZone);
    }

    [Fact]
    public void Parse_RunAtWithFraction_KeepsTheFraction()
    {
        Assert.Equal(new DateTimeOffset(2025, 6, 1, 12, 0, 0, 250, TimeSpan.Zero), Valid(Parse(runAt: "2025-06-01T12:00:00.250Z")).RunAt);
    }

    [Fact]
    public void Parse_RunAtWithOffset_KeepsTheGivenOffset()
    {
        Assert.Equal(TimeSpan.FromHours(2), Valid(Parse(runAt: "2025-06-01T14:00:00+02:00")).RunAt!.Value.Offset);
    }

    [Fact]
    public void Parse_RunAtWithoutOffset_IsUtc()
    {
        var trigger = Valid(Parse(runAt: "2025-06-01T12:00:00"));

        Assert.Equal(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero), trigger.RunAt);
        Assert.Equal(TimeSpan.Zero, trigger.RunAt!.Value.Offset);
    }

    [Fact]
    public void Parse_RunAtWithoutOffsetAndTimeZone_IsReadInTheZone()
    {
        var summer = Valid(Parse(runAt: "2025-06-01T12:00", zone: "Europe/Berlin"));
        var winter = Valid(Parse(runAt: "2025-12-01T12:00", zone: "Europe/Berlin"));

        Assert.Equal(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.FromHours(2)), summer.RunAt);
        Assert.Equal("Europe/Berlin", summer.TimeZone);
        Assert.Equal(new DateTimeOffset(2025, 12, 1, 12, 0, 0, TimeSpan.FromHours(1)), winter.RunAt);
    }

    [Fact]
    public void Parse_RunAtWithOffsetAndTimeZone_TheOffsetWins()
    {
        Assert.Equal(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero), Valid(Parse(runAt: "2025-06-01T12:00:00Z", zone: "Europe/Berlin")).RunAt);
    }

    [Fact]
    public void Parse_RunAtInFallBackHour_IsTheFirstOfTheTwo()
    {
        // 02:30 happens twice in Berlin on 2025-10-26, first at +02:00.
        Assert.Equal(new DateTimeOffset(2025, 10, 26, 2, 30, 0, TimeSpan.FromHours(2)), Valid(Parse(runAt: "2025-10-26T02:30:00", zone: "Europe/Berlin")).RunAt);
    }

    [Fact]
    public void Parse_RunAtInSpringGap_IsRefused()
    {
        var error = Refused(Parse(runAt: "2025-03-30T02:30:00", zone: "Europe/Berlin"), TriggerErrorKind.InvalidRunAt);

        Assert.Equal("The provided run_at is invalid", error.Message);
        Assert.Equal("run_at does not exist in time zone 'Europe/Berlin' (skipped by a daylight saving change): '2025-03-30T02:30:00'", error.Error);
    }

    [Theory]
    [InlineData("2025-05-02T09:59:59Z")]
    [InlineData("2025-05-02T10:00:00Z")]
    [InlineData("2025-05-02T12:00:00+02:00")]
    [InlineData("2020-01-01T00:00:00")]
    public void Parse_RunAtNotInTheFuture_IsRefused(string text)
    {
        var error = Refused(Parse(runAt: text), TriggerErrorKind.InvalidRunAt);

        Assert.Equal("The provided run_at is invalid", error.Message);
        Assert.Equal($"run_at must be an ISO 8601 date in the future: '{text}'", error.Error);
        Assert.Equal(error.Error, error.Detail);
    }

    [Theory]
    [InlineData("tomorrow")]
    [InlineData("2025-06-01")]
    [InlineData("2025-13-01T00:00:00Z")]
    [InlineData("2025-02-30T00:00:00Z")]
    [InlineData("2025-06-01T24:00:00Z")]
    [InlineData("2025-06-01T12:00:00+15:00")]
    [InlineData("2025-06-01T12:00:00+02:60")]
    [InlineData("06/01/2025 12:00")]
    [InlineData("1748779200")]
    public void Parse_RunAtNotIso8601_IsRefused(string text)
    {
        var error = Refused(Parse(runAt: text), TriggerErrorKind.InvalidRunAt);

        Assert.Equal("The provided run_at is invalid", error.Message);
        Assert.Equal($"run_at is not an ISO 8601 date: '{text}'", error.Error);
    }

    [Fact]
    public void Parse_LongValue_IsQuotedShort()
    {
        var error = Refused(Parse(runAt: new string('x', 5000)), TriggerErrorKind.InvalidRunAt);

        Assert.Equal($"run_at is not an ISO 8601 date: '{new string('x', 100)}...'", error.Error);
    }

    [Theory]
    [InlineData("Mars/Olympus")]
    [InlineData("../../etc/passwd")]
    [InlineData("/etc/localtime")]
    [InlineData("Europe")]
    [InlineData("europe/berlin")]
    [InlineData("Eastern Standard Time")]
    public void Parse_UnknownTimeZone_IsRefused(string zone)
    {
        // Loaded first so .NET's case-insensitive cache has it: the lower-case id must still be refused.
        Assert.True(Parse(cron: "* * * * *", zone: "Europe/Berlin").IsValid);

        var error = Refused(Parse(cron: "* * * * *", zone: zone), TriggerErrorKind.InvalidTimeZone);

        Assert.Equal("The provided time zone is invalid", error.Message);
        Assert.Equal($"Unknown time zone: '{zone}'", error.Error);
    }

    [Fact]
    public void Parse_UnknownTimeZone_IsCheckedBeforeTheCronExpression()
    {
        Refused(Parse(cron: "bad", zone: "Mars/Olympus"), TriggerErrorKind.InvalidTimeZone);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("60", null)]
    [InlineData(null, "60")]
    public void Parse_TimeZoneWithoutCronOrRunAt_IsRefused(string? delay, string? interval)
    {
        var error = Refused(Parse(delay: delay, interval: interval, zone: "Europe/Berlin"), TriggerErrorKind.InvalidTimeZone);

        Assert.Equal("The provided time zone is invalid", error.Message);
        Assert.Equal("timezone applies only to cron_expression and run_at", error.Error);
    }

    [Theory]
    [InlineData("UTC")]
    [InlineData("Etc/UTC")]
    [InlineData("America/Argentina/Buenos_Aires")]
    [InlineData("Etc/GMT+5")]
    public void Parse_KnownTimeZones_AreAccepted(string zone)
    {
        Assert.Equal(zone, Valid(Parse(cron: "0 12 * * *", zone: zone)).TimeZone);
    }
}
