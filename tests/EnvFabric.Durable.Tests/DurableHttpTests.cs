using System.Text.Json;
using EnvFabric.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Durable.Tests;

public sealed class DurableHttpTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task WaitForCompletionOrCreateCheckStatusResponse_FinishesInTime_200WithOutput()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(SequenceOrchestrator), new[] { "http" });
        var context = NewContext(host);

        var result = await DurableHttp.WaitForCompletionOrCreateCheckStatusResponseAsync(context.Request, host.Client, id, TimeSpan.FromSeconds(30));
        var (status, headers, body) = await ExecuteAsync(result, context);

        Assert.Equal(StatusCodes.Status200OK, status);
        Assert.Equal("Hello http!", body.RootElement[0].GetString());
        Assert.False(headers.ContainsKey("Location"));
    }

    [Fact]
    public async Task WaitForCompletionOrCreateCheckStatusResponse_StillRunning_202WithCheckStatusPayload()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(WaitOrchestrator));
        var context = NewContext(host);

        var result = await DurableHttp.WaitForCompletionOrCreateCheckStatusResponseAsync(context.Request, host.Client, id, TimeSpan.FromMilliseconds(300));
        var (status, headers, body) = await ExecuteAsync(result, context);

        Assert.Equal(StatusCodes.Status202Accepted, status);
        var statusUri = $"https://envfabric.example:8443/runtime/webhooks/durabletask/instances/{id}";
        Assert.Equal(statusUri, headers["Location"]);
        Assert.Equal("10", headers["Retry-After"]);
        Assert.Equal(id, body.RootElement.GetProperty("id").GetString());
        Assert.Equal(statusUri, body.RootElement.GetProperty("statusQueryGetUri").GetString());
        Assert.Equal(statusUri + "/raiseEvent/{eventName}", body.RootElement.GetProperty("sendEventPostUri").GetString());
        Assert.Equal(statusUri + "/terminate?reason={text}", body.RootElement.GetProperty("terminatePostUri").GetString());
        Assert.Equal(statusUri, body.RootElement.GetProperty("purgeHistoryDeleteUri").GetString());
        Assert.Equal(statusUri + "/suspend?reason={text}", body.RootElement.GetProperty("suspendPostUri").GetString());
        Assert.Equal(statusUri + "/resume?reason={text}", body.RootElement.GetProperty("resumePostUri").GetString());
    }

    [Fact]
    public async Task WaitForCompletionOrCreateCheckStatusResponse_Failed_200WithStatusBody()
    {
        await using var host = await DurableTestHost.StartAsync(azurite);
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(nameof(UncaughtOrchestrator), "z");
        var context = NewContext(host);

        var result = await DurableHttp.WaitForCompletionOrCreateCheckStatusResponseAsync(context.Request, host.Client, id, TimeSpan.FromSeconds(30));
        var (status, _, body) = await ExecuteAsync(result, context);

        Assert.Equal(StatusCodes.Status200OK, status);
        Assert.Equal("Failed", body.RootElement.GetProperty("runtimeStatus").GetString());
        Assert.Contains("boom: z", body.RootElement.GetProperty("output").GetProperty("innerFailure").GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
    }

    private static DefaultHttpContext NewContext(DurableTestHost host)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DurableTaskOptions>>());
        var context = new DefaultHttpContext { RequestServices = services.BuildServiceProvider() };
        context.Request.Scheme = "https";
        context.Request.Host = new HostString("envfabric.example", 8443);
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static async Task<(int Status, Dictionary<string, string> Headers, JsonDocument Body)> ExecuteAsync(IResult result, DefaultHttpContext context)
    {
        await result.ExecuteAsync(context);
        context.Response.Body.Position = 0;
        var body = await JsonDocument.ParseAsync(context.Response.Body);
        return (context.Response.StatusCode, context.Response.Headers.ToDictionary(h => h.Key, h => h.Value.ToString()), body);
    }
}
