using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using EnvFabric.Testing;

namespace EnvFabric.Functions.Tests;

/// <summary><c>GET /api/tasks/cron-preview</c> over HTTP: the engine's next times, and the create call's refusals.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TaskCronPreviewTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task CronPreview_GivesTheNextFiveTimesOfTheExpression()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);
        var before = DateTimeOffset.UtcNow;
        var (response, body) = await host.SendAsync(HttpMethod.Get, "/api/tasks/cron-preview?cron=" + Uri.EscapeDataString("0 0,12 * * *"));
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.True(body!["success"]!.GetValue<bool>());
        Assert.Equal("0 0,12 * * *", body["cron_expression"]!.GetValue<string>());
        Assert.Equal("UTC", body["timezone"]!.GetValue<string>());
        var times = Times(body["next_runs"]);
        Assert.Equal(5, times.Count);
        Assert.All(times, t => Assert.True(t.Minute == 0 && t.Second == 0 && t.Hour is 0 or 12, $"{t:O} is not at 00:00 or 12:00"));
        Assert.True(times[0] > before && times[0] <= before.AddHours(12).AddMinutes(1), $"first {times[0]:O} is not the next half-day after {before:O}");
        for (var i = 1; i < times.Count; i++)
        {
            Assert.Equal(TimeSpan.FromHours(12), times[i] - times[i - 1]);
        }

        Assert.Equal(times, Times(body["next_runs_local"]));
    }

    [Fact]
    public async Task CronPreview_CountAndTimezone_AreTheEnginesTimesInTheZone()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);
        var (response, body) = await host.SendAsync(HttpMethod.Get, "/api/tasks/cron-preview?count=3&timezone=Europe/Berlin&cron=" + Uri.EscapeDataString("0 9 * * *"));
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal("Europe/Berlin", body!["timezone"]!.GetValue<string>());
        var utc = Times(body["next_runs"]);
        var local = body["next_runs_local"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Equal(3, utc.Count);
        Assert.Equal(utc, Times(body["next_runs_local"]));
        Assert.All(local, l => Assert.Contains("T09:00:00+0", l, StringComparison.Ordinal));
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        Assert.All(utc, t => Assert.Equal(9, TimeZoneInfo.ConvertTime(t, berlin).Hour));
    }

    [Theory]
    [InlineData("61 * * * *", null)]
    [InlineData("not a cron", null)]
    [InlineData("0 0 30 2 *", null)]
    [InlineData("0 9 * * *", "Mars/Olympus")]
    public async Task CronPreview_Refusal_IsTheCreateCallsRefusal(string cron, string? timezone)
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);
        var url = "/api/tasks/cron-preview?cron=" + Uri.EscapeDataString(cron) + (timezone is null ? "" : "&timezone=" + Uri.EscapeDataString(timezone));
        var (response, body) = await host.SendAsync(HttpMethod.Get, url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(body!["success"]!.GetValue<bool>());

        var fields = new Dictionary<string, string> { ["conda_env"] = "preview", ["cron_expression"] = cron };
        if (timezone is not null)
        {
            fields["timezone"] = timezone;
        }

        var (created, createBody) = await host.CreateTaskAsync("print(1)\n", fields);
        Assert.Equal(HttpStatusCode.BadRequest, created.StatusCode);
        Assert.Equal(createBody!["message"]!.GetValue<string>(), body["message"]!.GetValue<string>());
        Assert.Equal(createBody["error"]!.GetValue<string>(), body["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("", "Missing required field")]
    [InlineData("?cron=*%20*%20*%20*%20*&count=0", "Invalid count")]
    [InlineData("?cron=*%20*%20*%20*%20*&count=51", "Invalid count")]
    public async Task CronPreview_MissingCronOrBadCount_Is400(string query, string message)
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);
        var (response, body) = await host.SendAsync(HttpMethod.Get, "/api/tasks/cron-preview" + query);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(message, body!["message"]!.GetValue<string>());
    }

    private static List<DateTimeOffset> Times(JsonNode? array) =>
        array!.AsArray().Select(n => DateTimeOffset.Parse(n!.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)).ToList();
}
