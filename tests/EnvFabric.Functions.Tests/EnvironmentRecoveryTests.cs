using System.Net;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using EnvFabric.Activities.Environments;
using EnvFabric.Core.Environments;
using Microsoft.DurableTask.Client;
using EnvFabric.Functions.Timers;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace EnvFabric.Functions.Tests;

/// <summary>Restarts, crashes, idle cleanup and audit failures, with the real runner and real builds.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class EnvironmentRecoveryTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Restart_EnvInfoOnShareMissingFromTable_IsImported()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("kept", "alpha==1.1");
        await host.StopHostAsync();

        // The row is lost; the share still holds env_info/kept.json.
        await new TableClient(host.ConnectionString, host.Prefix + TableEnvironmentRepository.TableName).DeleteEntityAsync("env", "kept");
        host.StartHost();

        Assert.True(await EnvironmentHostForTests.EventuallyAsync(
            async () => (await host.SendAsync(HttpMethod.Get, "/api/conda/environment/kept")).Response.StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30)));
        var (_, detail) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/kept");
        Assert.Equal("ready", detail!["status"]!.GetValue<string>());
        Assert.Contains(detail["packages"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "alpha" && p["version"]!.GetValue<string>() == "1.1");
    }

    [Fact]
    public async Task HostStoppedMidBuild_BuildCompletesAfterRestart()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        var (accepted, payload) = await host.SendAsync(HttpMethod.Post, "/api/conda/environment?wait=0", new { name = "resumed", python_version = "3.11", packages = new[] { "beta" } });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var instanceId = payload!["id"]!.GetValue<string>();

        // Stop the host once the runner has taken the job, before it finishes recording.
        var jobs = new TableClient(host.ConnectionString, host.Prefix + "RunnerJobs");
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(
            async () =>
            {
                try
                {
                    await foreach (var _ in jobs.QueryAsync<TableEntity>(maxPerPage: 1))
                    {
                        return true;
                    }
                }
                catch (Azure.RequestFailedException)
                {
                }

                return false;
            },
            TimeSpan.FromSeconds(60)));
        await host.StopHostAsync();

        host.StartHost();
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var done = await client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, wait.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.True(done.ReadOutputAs<EnvBuildResult>()!.Succeeded);
        var (_, detail) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/resumed");
        Assert.Equal("ready", detail!["status"]!.GetValue<string>());
        Assert.Contains(detail["packages"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "beta");
    }

    [Fact]
    public async Task RunnerKilledMidJob_FailsWithReasonInsteadOfHanging()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("victim", "alpha");
        var record = (await host.Services.GetRequiredService<IEnvironmentRepository>().GetAsync("victim"))!;

        // A long job on the runner, then the runner dies (SIGKILL, process tree).
        var starter = host.Services.GetRequiredService<EnvFabric.Orchestrations.Environments.EnvBuildStarter>();
        var input = new EnvBuildInput
        {
            Operation = EnvOperations.Run,
            Environment = "victim",
            Directory = record.Path,
            Who = "test",
            Code = "import time; time.sleep(300)",
            JobTimeoutSeconds = 600,
            StaleAfterSeconds = 6,
            RequestedAt = DateTimeOffset.UtcNow,
        };
        var started = await starter.StartAsync(input);
        var jobs = new TableClient(host.ConnectionString, host.Prefix + "RunnerJobs");
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(
            async () =>
            {
                await foreach (var row in jobs.QueryAsync<TableEntity>())
                {
                    if (row.GetString("InstanceId") == started.InstanceId || row.RowKey.StartsWith(started.InstanceId!, StringComparison.Ordinal) || row.PartitionKey.StartsWith(started.InstanceId!, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }

                return false;
            },
            TimeSpan.FromSeconds(60)));
        host.KillRunner();

        var result = await starter.WaitAsync(started.InstanceId!, input, TimeSpan.FromSeconds(120));
        Assert.NotNull(result);
        Assert.False(result!.Succeeded);
        Assert.Equal(EnvErrorCodes.UvExecutionError, result.ErrorCode);
        Assert.Contains("stopped sending heartbeats", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CleanupTimer_FakeClockPastIdleHours_DeletesUnreferencedOnlyAndAudits()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await EnvironmentHostForTests.StartAsync(
            azurite,
            new Dictionary<string, string?> { ["CLEANUP_IDLE_HOURS"] = "1" },
            services: s => s.AddKeyedSingleton<TimeProvider>(EnvironmentCleanupTimer.ClockKey, clock));
        await host.CreateCondaAsync("idle", "gamma");
        await host.CreateCondaAsync("busy");
        var tasks = new TableClient(host.ConnectionString, host.Prefix + "Tasks");
        await tasks.CreateIfNotExistsAsync();
        await tasks.AddEntityAsync(new TableEntity("task", "t1") { ["Environment"] = "busy" });

        clock.Advance(TimeSpan.FromHours(2));

        Assert.True(await EnvironmentHostForTests.EventuallyAsync(
            async () => (await host.SendAsync(HttpMethod.Get, "/api/conda/environment/idle")).Response.StatusCode == HttpStatusCode.NotFound,
            TimeSpan.FromSeconds(90)));
        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync(HttpMethod.Get, "/api/conda/environment/busy")).Response.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(host.Share.Path, "envs", "idle")));

        // The orchestration removes the record first and writes the audit row in a later step.
        JsonNode? audit = null;
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(
            async () =>
            {
                (_, audit) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation=cleanup");
                return audit?["items"]?.AsArray().Count > 0;
            },
            TimeSpan.FromSeconds(60)));
        var row = Assert.Single(audit!["items"]!.AsArray())!;
        Assert.Equal("idle", row["environment"]!.GetValue<string>());
        Assert.Equal("system", row["who"]!.GetValue<string>());
    }

    [Fact]
    public async Task CleanupTimer_IdleHoursZero_IsOff()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);
        await host.Services.GetRequiredService<IEnvironmentRepository>().AddAsync(new EnvironmentRecord
        {
            Name = "old",
            PythonVersion = "3.11",
            Path = Path.Combine(host.Share.Path, "envs", "old"),
            Status = EnvironmentStatus.Ready,
            LastUsedAt = DateTimeOffset.UnixEpoch,
        });

        var started = await host.Services.GetRequiredService<EnvironmentCleanupTimer>().RunOnceAsync();

        Assert.Empty(started);
        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync(HttpMethod.Get, "/api/conda/environment/old")).Response.StatusCode);
    }

    [Fact]
    public async Task NoRunner_BuildFailsAfterPickupTimeout_AuditedWithCallerIp()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(
            azurite,
            new Dictionary<string, string?> { ["RUNNER_PICKUP_TIMEOUT_SECONDS"] = "2" },
            runner: false,
            services: s => s.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter>(new ClientIpFilter(IPAddress.Parse("10.9.8.7"))));

        var (response, body) = await host.SendAsync(HttpMethod.Post, "/api/conda/environment", new { name = "orphan", python_version = "3.11" });

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("no runner took the job", body!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var (_, detail) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/orphan");
        Assert.Equal("failed", detail!["status"]!.GetValue<string>());
        var (_, byIp) = await host.SendAsync(HttpMethod.Get, "/api/audit?ip=10.9.8.7");
        var row = Assert.Single(byIp!["items"]!.AsArray())!;
        Assert.Equal("create", row["operation"]!.GetValue<string>());
        Assert.Equal("failed", row["outcome"]!.GetValue<string>());
        Assert.Equal("master", row["who"]!.GetValue<string>());
        Assert.Empty((await host.SendAsync(HttpMethod.Get, "/api/audit?ip=10.0.0.1")).Body!["items"]!.AsArray());
        var from = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(1).ToString("O"));
        Assert.Empty((await host.SendAsync(HttpMethod.Get, $"/api/audit?from={from}")).Body!["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.BadRequest, (await host.SendAsync(HttpMethod.Get, "/api/audit?from=yesterday")).Response.StatusCode);
    }

    /// <summary>Gives every request a client address (TestServer has none).</summary>
    private sealed class ClientIpFilter(IPAddress address) : Microsoft.AspNetCore.Hosting.IStartupFilter
    {
        public Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> Configure(Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> next) => app =>
        {
            Microsoft.AspNetCore.Builder.UseExtensions.Use(app, (context, nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = address;
                return nextMiddleware(context);
            });
            next(app);
        };
    }

    [Fact]
    public async Task AuditWriteFails_RequestFailsWithDbAuditError()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        using var form = new FormUrlEncodedContent([new("workflow_id", "wa"), new("node_id", "na")]);
        var created = await host.Client.PostAsync(new Uri("/envs", UriKind.Relative), form);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);

        await new TableClient(host.ConnectionString, host.Prefix + EnvFabric.Core.Audit.TableAuditLog.TableName).DeleteAsync();
        var (response, body) = await host.SendAsync(HttpMethod.Post, "/envs/wa/na/sync");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("DB_AUDIT_ERROR", body!["error_code"]!.GetValue<string>());
        var (conda, condaBody) = await host.SendAsync(HttpMethod.Post, "/api/conda/environment/wa_na_v1/reset");
        Assert.Equal(HttpStatusCode.InternalServerError, conda.StatusCode);
        Assert.Contains("audit", condaBody!["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
