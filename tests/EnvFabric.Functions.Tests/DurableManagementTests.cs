using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using EnvFabric.Durable;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using EnvFabric.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class DurableManagementTests(AzuriteFixture azurite) : IDisposable
{
    private const string Prefix = "/runtime/webhooks/durabletask";
    private readonly FunctionsFactory _factory = new(azurite);
    private WebApplicationFactory<Program>? _host;

    public void Dispose()
    {
        _host?.Dispose();
        _factory.Dispose();
    }

    [Fact]
    public async Task GetInstance_WithoutAdminKey_Returns401()
    {
        using var client = Host().CreateClient();

        using var response = await client.GetAsync(new Uri($"{Prefix}/instances/anything", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task GetInstance_Unknown_Returns404()
    {
        using var client = Keyed();

        using var response = await client.GetAsync(new Uri($"{Prefix}/instances/nope-{Guid.NewGuid():N}", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task GetInstance_RunningThenRaiseEvent_202WithLocationThen200WithOutputAndHistory()
    {
        using var client = Keyed();
        var durable = Host().Services.GetRequiredService<DurableTaskClient>();
        var id = await durable.ScheduleNewOrchestrationInstanceAsync(nameof(ManagementWaitOrchestrator), "in");
        await durable.WaitForInstanceStartAsync(id);

        using (var running = await client.GetAsync(new Uri($"{Prefix}/instances/{id}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Accepted, running.StatusCode);
            Assert.EndsWith($"{Prefix}/instances/{id}", running.Headers.Location!.ToString(), StringComparison.Ordinal);
            Assert.Equal(TimeSpan.FromSeconds(10), running.Headers.RetryAfter!.Delta);
            using var body = JsonDocument.Parse(await running.Content.ReadAsStringAsync());
            Assert.Equal("Running", body.RootElement.GetProperty("runtimeStatus").GetString());
            Assert.Equal("in", body.RootElement.GetProperty("input").GetString());
        }

        using (var raised = await client.PostAsync(new Uri($"{Prefix}/instances/{id}/raiseEvent/Go", UriKind.Relative), Json("\"payload\"")))
        {
            Assert.Equal(HttpStatusCode.Accepted, raised.StatusCode);
        }

        await durable.WaitForInstanceCompletionAsync(id);
        using var done = await client.GetAsync(new Uri($"{Prefix}/instances/{id}?showHistory=true&showHistoryOutput=true", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        using var doneBody = JsonDocument.Parse(await done.Content.ReadAsStringAsync());
        Assert.Equal("Completed", doneBody.RootElement.GetProperty("runtimeStatus").GetString());
        Assert.Equal("in:payload", doneBody.RootElement.GetProperty("output").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", doneBody.RootElement.GetProperty("createdTime").GetString());
        var events = doneBody.RootElement.GetProperty("historyEvents").EnumerateArray().Select(e => e.GetProperty("EventType").GetString()).ToList();
        Assert.Contains("ExecutionStarted", events);
        Assert.Contains("EventRaised", events);
        Assert.Contains("ExecutionCompleted", events);
    }

    [Fact]
    public async Task RaiseEvent_BodyNotJson_Returns400()
    {
        using var client = Keyed();
        var durable = Host().Services.GetRequiredService<DurableTaskClient>();
        var id = await durable.ScheduleNewOrchestrationInstanceAsync(nameof(ManagementWaitOrchestrator), "x");

        using var response = await client.PostAsync(new Uri($"{Prefix}/instances/{id}/raiseEvent/Go", UriKind.Relative), Json("not json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Terminate_RunningThenFinished_202Then410()
    {
        using var client = Keyed();
        var durable = Host().Services.GetRequiredService<DurableTaskClient>();
        var id = await durable.ScheduleNewOrchestrationInstanceAsync(nameof(ManagementWaitOrchestrator), "x");
        await durable.WaitForInstanceStartAsync(id);

        using (var suspend = await client.PostAsync(new Uri($"{Prefix}/instances/{id}/suspend?reason=pause", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.Accepted, suspend.StatusCode);
        }

        using (var resume = await client.PostAsync(new Uri($"{Prefix}/instances/{id}/resume?reason=go", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.Accepted, resume.StatusCode);
        }

        using (var terminate = await client.PostAsync(new Uri($"{Prefix}/instances/{id}/terminate?reason=enough", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.Accepted, terminate.StatusCode);
        }

        var result = await durable.WaitForInstanceCompletionAsync(id, true);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, result.RuntimeStatus);
        Assert.Equal("enough", result.ReadOutputAs<string>());

        using var again = await client.PostAsync(new Uri($"{Prefix}/instances/{id}/terminate", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Gone, again.StatusCode);
        using var unknown = await client.PostAsync(new Uri($"{Prefix}/instances/none-{Guid.NewGuid():N}/suspend", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Purge_Finished_200ThenGone404()
    {
        using var client = Keyed();
        var durable = Host().Services.GetRequiredService<DurableTaskClient>();
        var id = await durable.ScheduleNewOrchestrationInstanceAsync(nameof(ManagementWaitOrchestrator), "x");
        await durable.RaiseEventAsync(id, "Go", "y");
        await durable.WaitForInstanceCompletionAsync(id);

        using var purged = await client.DeleteAsync(new Uri($"{Prefix}/instances/{id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, purged.StatusCode);
        Assert.Equal(1, (await purged.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("instancesDeleted").GetInt32());
        using var again = await client.DeleteAsync(new Uri($"{Prefix}/instances/{id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task ListInstances_FilterAndTop_PagesWithContinuationHeader()
    {
        using var client = Keyed();
        var durable = Host().Services.GetRequiredService<DurableTaskClient>();
        var prefix = "m" + Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 3; i++)
        {
            await durable.ScheduleNewOrchestrationInstanceAsync(nameof(ManagementWaitOrchestrator), "x", new StartOrchestrationOptions(prefix + i));
        }

        var ids = new List<string>();
        string? token = null;
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{Prefix}/instances?instanceIdPrefix={prefix}&runtimeStatus=Pending,Running&top=2");
            if (token is not null)
            {
                request.Headers.Add("x-ms-continuation-token", token);
            }

            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(page.GetArrayLength() <= 2);
            ids.AddRange(page.EnumerateArray().Select(e => e.GetProperty("instanceId").GetString()!));
            token = response.Headers.TryGetValues("x-ms-continuation-token", out var values) ? values.Single() : null;
        }
        while (token is not null);

        Assert.Equal(Enumerable.Range(0, 3).Select(i => prefix + i), ids.Order());
        using var bad = await client.GetAsync(new Uri($"{Prefix}/instances?runtimeStatus=Sleeping", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    private WebApplicationFactory<Program> Host() =>
        _host ??= _factory.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddDurableTaskRegistrations().AddOrchestrator<ManagementWaitOrchestrator>()));

    private HttpClient Keyed()
    {
        var client = Host().CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Add("x-functions-key", FunctionsFactory.MasterKey);
        return client;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}

/// <summary>Waits for "Go" and answers with its input and the event's payload.</summary>
public sealed class ManagementWaitOrchestrator : TaskOrchestrator<string, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, string input)
    {
        var payload = await context.WaitForExternalEvent<string>("Go");
        return input + ":" + payload;
    }
}
