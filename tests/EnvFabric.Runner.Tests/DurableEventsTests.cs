using EnvFabric.Core.Runner;
using DurableTask.AzureStorage;
using EnvFabric.Durable;
using EnvFabric.Durable.Client;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using EnvFabric.Runner.Extensions;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EnvFabric.Runner.Tests;

/// <summary>Waits for the runner's events of one job, ignoring those of other attempts.</summary>
public sealed class AwaitJobOrchestrator : TaskOrchestrator<string, JobCompletedEvent>
{
    public override async Task<JobCompletedEvent> RunAsync(TaskOrchestrationContext context, string input)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = await context.WaitForExternalEvent<JobStartedEvent>(RunnerEvents.Started, TimeSpan.FromSeconds(90));
        context.SetCustomStatus(started.RunnerId);
        while (true)
        {
            var completed = await context.WaitForExternalEvent<JobCompletedEvent>(RunnerEvents.Completed, TimeSpan.FromSeconds(90));
            if (completed.JobId == input)
            {
                return completed;
            }
        }
    }
}

[Collection(RunnerCollection.Name)]
public sealed class DurableEventsTests(RunnerFixture fixture)
{
    [Fact]
    public async Task DurableSink_ScriptJob_OrchestrationWaitingOnExternalEventsGetsResult()
    {
        var hub = "hub" + AzuriteFixture.UniqueName("r");
        var prefix = AzuriteFixture.UniqueName("p");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddFilter(level => level >= LogLevel.Warning);
        builder.Services.AddDurableTask(
            o =>
            {
                o.HubName = prefix + hub;
                o.PartitionCount = 2;
                o.MaxQueuePollingInterval = TimeSpan.FromMilliseconds(200);
                o.StorageAccount = new StorageAccountClientProvider(fixture.Azurite.ConnectionString);
            },
            r => r.AddOrchestrator<AwaitJobOrchestrator>());
        using var orchestrations = builder.Build();
        await orchestrations.StartAsync();
        await using var runner = await RunnerHarness.StartAsync(
            fixture.Azurite,
            new Dictionary<string, string?> { [DurableEventSinkExtensions.HubNameSetting] = hub, [DurableEventSinkExtensions.PartitionCountSetting] = "2", ["ENVFABRIC_STORAGE_PREFIX"] = prefix },
            durableEvents: true);
        try
        {
            var env = Path.Combine(runner.Paths.Envs, "durable");
            Assert.Equal(0, await RunnerHarness.RunToolAsync("python3", "-m", "venv", "--without-pip", Path.Combine(env, ".venv")));
            var dir = runner.ScriptDirectory(("main.py", "print('through the durable runtime')\n"));
            var client = orchestrations.Services.GetRequiredService<AzureStorageDurableTaskClient>();
            var job = runner.Script(dir, env, "python main.py");
            var instanceId = await client.ScheduleNewOrchestrationInstanceAsync(nameof(AwaitJobOrchestrator), job.JobId, new StartOrchestrationOptions(job.InstanceId));

            // As in EnvBuild, the job is dispatched by a running orchestration.
            using (var started = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                await client.WaitForInstanceStartAsync(instanceId, cancellation: started.Token);
            }

            await runner.Queue.EnqueueAsync(job);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            OrchestrationMetadata done;
            try
            {
                done = await client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                var state = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true);
                var history = await client.GetInstanceHistoryAsync(instanceId);
                var row = await runner.Jobs.GetAsync(job.JobId);
                throw new TimeoutException($"orchestration {state?.RuntimeStatus}, custom status {state?.SerializedCustomStatus}, history [{string.Join(", ", history.Select(h => h.ToString()))}], job row {row?.State} {row?.Result?.Status}");
            }

            Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
            Assert.Equal(runner.RunnerId, done.ReadCustomStatusAs<string>());
            var completed = done.ReadOutputAs<JobCompletedEvent>()!;
            Assert.Equal(job.JobId, completed.JobId);
            Assert.Equal(JobStatus.Succeeded, completed.Result.Status);
            Assert.Equal(0, completed.Result.ExitCode);
            Assert.Contains("through the durable runtime", completed.Result.StdoutTail);
        }
        finally
        {
            await orchestrations.StopAsync();
        }
    }
}
