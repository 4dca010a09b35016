using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using EnvFabric.Durable;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary><c>GET /api/tasks/cron-preview</c> over HTTP: the engine's next times, and the create call's refusals.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TaskCronPreviewTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task CronPreview_GivesTheNextFiveTimesOfTheExpression()
    {
        await using var host = await StartedHostAsync();
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
        await using var host = await StartedHostAsync();
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

    [Fact]
    public async Task CronPreview_Refusal_IsTheCreateCallsRefusal()
    {
        await using var host = await StartedHostAsync();
        foreach (var (cron, timezone) in new (string, string?)[] { ("61 * * * *", null), ("not a cron", null), ("0 0 30 2 *", null), ("0 9 * * *", "Mars/Olympus") })
        {
            var url = "/api/tasks/cron-preview?cron=" + Uri.EscapeDataString(cron) + (timezone is null ? "" : "&timezone=" + Uri.EscapeDataString(timezone));
            var (response, body) = await host.SendAsync(HttpMethod.Get, url);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{cron} {timezone}: {(int)response.StatusCode} {body?.ToJsonString()}");
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
    }

    [Fact]
    public async Task CronPreview_MissingCronOrBadCount_Is400()
    {
        await using var host = await StartedHostAsync();
        foreach (var (query, message) in new[] { ("", "Missing required field"), ("?cron=*%20*%20*%20*%20*&count=0", "Invalid count"), ("?cron=*%20*%20*%20*%20*&count=51", "Invalid count") })
        {
            var (response, body) = await host.SendAsync(HttpMethod.Get, "/api/tasks/cron-preview" + query);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(message, body!["message"]!.GetValue<string>());
        }
    }

    private async Task<EnvironmentHostForTests> StartedHostAsync()
    {
        var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);
        var status = host.Services.GetRequiredService<IDurableWorkerStatus>();
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(() => Task.FromResult(status.IsRunning), TimeSpan.FromSeconds(120)), "the durable worker did not start");
        return host;
    }

    private static List<DateTimeOffset> Times(JsonNode? array) =>
        array!.AsArray().Select(n => DateTimeOffset.Parse(n!.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)).ToList();
}
