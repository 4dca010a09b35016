using System.Text.Json;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Core.Tests.Tasks;

public sealed class TaskTriggerTests
{
    private static readonly DateTimeOffset T0 = new(2025, 5, 2, 10, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset Utc(int month, int day, int hour, int minute, int second = 0) =>
        new(2025, month, day, hour, minute, second, TimeSpan.Zero);

    private static TaskTrigger Cron(string expression, string? zone = null) =>
        new() { Kind = TriggerKind.Cron, CronExpression = expression, TimeZone = zone };

    private static TaskTrigger Interval(int seconds) => new() { Kind = TriggerKind.Interval, IntervalSeconds = seconds };

    [Fact]
    public void FirstDue_OneShotKinds_FollowTheirDefinition()
    {
        var at = T0.AddDays(3);

        Assert.Equal(T0, new TaskTrigger { Kind = TriggerKind.Now }.FirstDue(T0));
        Assert.Equal(T0.AddSeconds(90), new TaskTrigger { Kind = TriggerKind.Delay, DelaySeconds = 90 }.FirstDue(T0));
        Assert.Equal(at, new TaskTrigger { Kind = TriggerKind.Date, RunAt = at }.FirstDue(T0));
        Assert.Equal(T0.AddSeconds(300), Interval(300).FirstDue(T0));
    }

    [Fact]
    public void FirstDue_Cron5Fields_IsFirstOccurrenceStrictlyAfterAnchor()
    {
        var trigger = Cron("*/10 * * * *");

        Assert.Equal(Utc(5, 2, 10, 10), trigger.FirstDue(Utc(5, 2, 10, 3, 20)));
        Assert.Equal(Utc(5, 2, 10, 20), trigger.FirstDue(Utc(5, 2, 10, 10)));
    }

    [Fact]
    public void FirstDue_Cron6Fields_HasSecondsFirst()
    {
        var trigger = Cron("*/15 * * * * *");

        Assert.Equal(Utc(5, 2, 10, 0, 15), trigger.FirstDue(Utc(5, 2, 10, 0, 7)));
        Assert.Equal(Utc(5, 2, 10, 0, 30), trigger.FirstDue(Utc(5, 2, 10, 0, 15)));
    }

    [Fact]
    public void FirstDue_CronInTimeZone_CarriesTheZonesOffset()
    {
        var trigger = Cron("0 9 * * *", "Europe/Berlin");

        var winter = trigger.FirstDue(Utc(1, 10, 12, 0));
        var summer = trigger.FirstDue(Utc(7, 10, 12, 0));

        Assert.Equal(new DateTimeOffset(2025, 1, 11, 9, 0, 0, TimeSpan.FromHours(1)), winter);
        Assert.Equal(TimeSpan.FromHours(1), winter!.Value.Offset);
        Assert.Equal(new DateTimeOffset(2025, 7, 11, 9, 0, 0, TimeSpan.FromHours(2)), summer);
        Assert.Equal(TimeSpan.FromHours(2), summer!.Value.Offset);
    }

    [Fact]
    public void Preview_DailyCronOverSpringForward_RunsOncePerDayShiftedOutOfTheGap()
    {
        // Europe/Berlin skips 02:00-03:00 on 2025-03-30: Cronos runs that day's 02:30 at 03:00.
        var times = Cron("30 2 * * *", "Europe/Berlin").Preview(Utc(3, 28, 12, 0), 4);

        Assert.Equal(
            [
                new DateTimeOffset(2025, 3, 29, 2, 30, 0, TimeSpan.FromHours(1)),
                new DateTimeOffset(2025, 3, 30, 3, 0, 0, TimeSpan.FromHours(2)),
                new DateTimeOffset(2025, 3, 31, 2, 30, 0, TimeSpan.FromHours(2)),
                new DateTimeOffset(2025, 4, 1, 2, 30, 0, TimeSpan.FromHours(2)),
            ],
            times);
        Assert.Equal(4, times.Select(t => t.DateTime.Date).Distinct().Count());
    }

    [Fact]
    public void Preview_DailyCronOverFallBack_RunsOnceInTheRepeatedHour()
    {
        // Europe/Berlin repeats 02:00-03:00 on 2025-10-26: the daily 02:30 runs once, in the first copy.
        var times = Cron("30 2 * * *", "Europe/Berlin").Preview(Utc(10, 24, 12, 0), 4);

        Assert.Equal(
            [
                new DateTimeOffset(2025, 10, 25, 2, 30, 0, TimeSpan.FromHours(2)),
                new DateTimeOffset(2025, 10, 26, 2, 30, 0, TimeSpan.FromHours(2)),
                new DateTimeOffset(2025, 10, 27, 2, 30, 0, TimeSpan.FromHours(1)),
                new DateTimeOffset(2025, 10, 28, 2, 30, 0, TimeSpan.FromHours(1)),
            ],
            times);
    }

    [Fact]
    public void Preview_StepCronOverFallBack_RunsInBothCopiesOfTheHour()
    {
        var times = Cron("*/30 * * * *", "Europe/Berlin").Preview(Utc(10, 25, 23, 0), 6);

        Assert.Equal(
            [
                new DateTimeOffset(2025, 10, 26, 1, 30, 0, TimeSpan.FromHours(2)),
                new DateTimeOffset(2025, 10, 26, 2, 0, 0, TimeSpan.FromHours(2)),
                new DateTimeOffset(2025, 10, 26, 2, 30, 0, TimeSpan.FromHours(2)),
                new DateTimeOffset(2025, 10, 26, 2, 0, 0, TimeSpan.FromHours(1)),
                new DateTimeOffset(2025, 10, 26, 2, 30, 0, TimeSpan.FromHours(1)),
                new DateTimeOffset(2025, 10, 26, 3, 0, 0, TimeSpan.FromHours(1)),
            ],
            times);
        Assert.All(times.Zip(times.Skip(1)), pair => Assert.Equal(TimeSpan.FromMinutes(30), pair.Second - pair.First));
    }

    [Fact]
    public void Preview_DailyCronInNewYork_NeitherLosesNorDuplicatesAcrossBothChanges()
    {
        var trigger = Cron("30 1 * * *", "America/New_York");

        // Spring forward on 2025-03-09 skips 02:00-03:00, which 01:30 is not in: every day has its run.
        var spring = trigger.Preview(Utc(3, 7, 12, 0), 3);
        // Fall back on 2025-11-02 repeats 01:00-02:00: 01:30 runs once, at -04:00.
        var fall = trigger.Preview(Utc(10, 31, 12, 0), 3);

        Assert.Equal(
            [
                new DateTimeOffset(2025, 3, 8, 1, 30, 0, TimeSpan.FromHours(-5)),
                new DateTimeOffset(2025, 3, 9, 1, 30, 0, TimeSpan.FromHours(-5)),
                new DateTimeOffset(2025, 3, 10, 1, 30, 0, TimeSpan.FromHours(-4)),
            ],
            spring);
        Assert.Equal(
            [
                new DateTimeOffset(2025, 11, 1, 1, 30, 0, TimeSpan.FromHours(-4)),
                new DateTimeOffset(2025, 11, 2, 1, 30, 0, TimeSpan.FromHours(-4)),
                new DateTimeOffset(2025, 11, 3, 1, 30, 0, TimeSpan.FromHours(-5)),
            ],
            fall);
    }

    [Fact]
    public void NextDue_CronAfterDowntime_TakesNextOccurrenceAfterNowWithoutReplaying()
    {
        var trigger = Cron("*/10 * * * *");

        Assert.Equal(Utc(5, 2, 13, 40), trigger.NextDue(previousDue: Utc(5, 2, 10, 0), now: Utc(5, 2, 13, 37)));
    }

    [Fact]
    public void NextDue_CronOccurrenceExactlyAtNow_IsDue()
    {
        Assert.Equal(Utc(5, 2, 13, 40), Cron("*/10 * * * *").NextDue(Utc(5, 2, 10, 0), Utc(5, 2, 13, 40)));
    }

    [Fact]
    public void NextDue_CronOnTime_IsTheFollowingOccurrence()
    {
        var trigger = Cron("*/10 * * * *");

        Assert.Equal(Utc(5, 2, 10, 10), trigger.NextDue(Utc(5, 2, 10, 0), Utc(5, 2, 10, 0)));
        Assert.Equal(Utc(5, 2, 10, 10), trigger.NextDue(Utc(5, 2, 10, 0), Utc(5, 2, 10, 0).AddMilliseconds(500)));
    }

    [Fact]
    public void NextDue_CronEvaluatedBeforePreviousDue_NeverRepeatsPreviousDue()
    {
        Assert.Equal(Utc(5, 2, 10, 10), Cron("*/10 * * * *").NextDue(Utc(5, 2, 10, 0), Utc(5, 2, 9, 59)));
    }

    [Fact]
    public void NextDue_Interval_IsFixedRateWithoutDrift()
    {
        // The run due at 10:00 took 5 s: the next is still 10:01, not 10:01:05.
        Assert.Equal(Utc(5, 2, 10, 1), Interval(60).NextDue(Utc(5, 2, 10, 0), Utc(5, 2, 10, 0, 5)));
    }

    [Fact]
    public void NextDue_IntervalAfterDowntime_SkipsMissedTicksOnTheGrid()
    {
        var trigger = Interval(60);

        Assert.Equal(Utc(5, 2, 10, 8), trigger.NextDue(Utc(5, 2, 10, 0), Utc(5, 2, 10, 7, 30)));
        Assert.Equal(Utc(5, 2, 10, 5), trigger.NextDue(Utc(5, 2, 10, 0), Utc(5, 2, 10, 5)));
        Assert.Equal(new DateTimeOffset(2025, 5, 9, 10, 0, 0, TimeSpan.Zero), Interval(86_400).NextDue(Utc(5, 2, 10, 0), Utc(5, 8, 23, 0)));
    }

    [Fact]
    public void NextDue_IntervalEvaluatedBeforePreviousDue_IsOneIntervalLater()
    {
        Assert.Equal(Utc(5, 2, 10, 1), Interval(60).NextDue(Utc(5, 2, 10, 0), Utc(5, 2, 9, 0)));
    }

    [Fact]
    public void NextDue_OneShotKinds_AreNull()
    {
        Assert.Null(new TaskTrigger { Kind = TriggerKind.Now }.NextDue(T0, T0));
        Assert.Null(new TaskTrigger { Kind = TriggerKind.Delay, DelaySeconds = 5 }.NextDue(T0, T0));
        Assert.Null(new TaskTrigger { Kind = TriggerKind.Date, RunAt = T0 }.NextDue(T0, T0));
    }

    [Fact]
    public void Recurring_OnlyCronAndInterval()
    {
        Assert.True(Cron("* * * * *").Recurring);
        Assert.True(Interval(1).Recurring);
        Assert.False(new TaskTrigger { Kind = TriggerKind.Now }.Recurring);
        Assert.False(new TaskTrigger { Kind = TriggerKind.Delay, DelaySeconds = 1 }.Recurring);
        Assert.False(new TaskTrigger { Kind = TriggerKind.Date, RunAt = T0 }.Recurring);
    }

    [Fact]
    public void Preview_Cron_GivesTheNextFive()
    {
        Assert.Equal(
            [Utc(5, 2, 12, 0), Utc(5, 3, 0, 0), Utc(5, 3, 12, 0), Utc(5, 4, 0, 0), Utc(5, 4, 12, 0)],
            Cron("0 0,12 * * *").Preview(Utc(5, 2, 10, 0), 5));
    }

    [Fact]
    public void Preview_Interval_StepsFromTheAnchor()
    {
        Assert.Equal([T0.AddHours(1), T0.AddHours(2), T0.AddHours(3)], Interval(3600).Preview(T0, 3));
    }

    [Fact]
    public void Preview_OneShotKinds_GiveOneTime()
    {
        Assert.Equal([T0], new TaskTrigger { Kind = TriggerKind.Now }.Preview(T0, 5));
        Assert.Equal([T0.AddSeconds(30)], new TaskTrigger { Kind = TriggerKind.Delay, DelaySeconds = 30 }.Preview(T0, 5));
        Assert.Equal([T0.AddDays(1)], new TaskTrigger { Kind = TriggerKind.Date, RunAt = T0.AddDays(1) }.Preview(T0, 5));
    }

    [Fact]
    public void Preview_CountZeroOrNeverMatchingCron_IsEmpty()
    {
        Assert.Empty(Cron("* * * * *").Preview(T0, 0));
        Assert.Empty(Cron("0 0 30 2 *").Preview(T0, 5));
        Assert.Null(Cron("0 0 30 2 *").FirstDue(T0));
    }

    [Fact]
    public void Preview_NegativeCount_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Interval(1).Preview(T0, -1));
    }

    [Fact]
    public void FirstDue_MissingOrInvalidProperty_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => new TaskTrigger { Kind = TriggerKind.Delay }.FirstDue(T0));
        Assert.Throws<InvalidOperationException>(() => new TaskTrigger { Kind = TriggerKind.Cron }.FirstDue(T0));
        Assert.Throws<InvalidOperationException>(() => Cron("not cron at all").FirstDue(T0));
        Assert.Throws<InvalidOperationException>(() => Cron("* * * * *", "Mars/Olympus").FirstDue(T0));
        Assert.Throws<InvalidOperationException>(() => Interval(0).NextDue(T0, T0));
    }

    [Fact]
    public void Json_RoundTrips_WithLowerCaseKindAndNoDerivedRecurring()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        var trigger = Cron("*/5 * * * *", "Europe/Berlin");

        var json = JsonSerializer.Serialize(trigger, options);

        Assert.Contains("\"kind\":\"cron\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("recurring", json, StringComparison.Ordinal);
        Assert.Equal(trigger, JsonSerializer.Deserialize<TaskTrigger>(json, options));
        Assert.Equal(TriggerKind.Interval, JsonSerializer.Deserialize<TaskTrigger>("{\"kind\":\"interval\",\"intervalSeconds\":5}", options)!.Kind);
    }
}
