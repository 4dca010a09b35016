using Azure;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Monitoring;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Runner.Discovery;
using Microsoft.Extensions.Options;

namespace EnvFabric.Runner.Jobs;

/// <summary>
/// Discovers the runner's tools at start, creates the storage it uses, and keeps its row in the Runners table
/// fresh (pool, cores, GPUs, capabilities, active jobs, heartbeat) so the API can list Python versions and report health. On a
/// clean stop the row says so; after a crash the heartbeat simply goes stale.
/// </summary>
public sealed class RunnerPresence(
    ToolDiscovery discovery,
    RunnerState state,
    IRunnerRegistry registry,
    RunnerJobTable jobs,
    DataPaths paths,
    StorageAccount storage,
    StorageNames names,
    IOptions<EnvFabricOptions> settings,
    IOptions<RunnerOptions> options,
    TimeProvider time,
    ILogger<RunnerPresence> logger) : BackgroundService
{
    private readonly CpuUsageSampler _cpu = new();

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(
            storage.Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(names)).CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            storage.Blobs.GetBlobContainerClient(RunnerStorage.PayloadsContainer(names)).CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            storage.Queues.GetQueueClient(RunnerStorage.JobQueue(names, options.Value.Pool)).CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            storage.Queues.GetQueueClient(RunnerStorage.ControlQueue(names, state.RunnerId)).CreateIfNotExistsAsync(cancellationToken: cancellationToken),
            jobs.EnsureCreatedAsync(cancellationToken));
        // The first CPU reading is the baseline the first heartbeat's percentage is measured from.
        _cpu.Sample();
        var capabilities = await discovery.DiscoverAsync(cancellationToken);
        state.SetCapabilities(capabilities);
        await PublishAsync(stopped: false, cancellationToken);
        logger.RunnerStarted(state.RunnerId, options.Value.Pool, string.Join(',', capabilities.Backends).ToLowerInvariant(), settings.Value.MaxConcurrentTasks);
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await PublishAsync(stopped: true, cancellationToken);
            await storage.Queues.GetQueueClient(RunnerStorage.ControlQueue(names, state.RunnerId)).DeleteIfExistsAsync(cancellationToken);
        }
        catch (RequestFailedException ex)
        {
            logger.HeartbeatFailed(ex);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.RunnerHeartbeatSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // The heartbeat interval, or sooner when a job changed what the runner can do (an installed Python).
                using (var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    await Task.WhenAny(Task.Delay(interval, time, wake.Token), state.PublishRequested);
                    await wake.CancelAsync();
                }

                stoppingToken.ThrowIfCancellationRequested();
                state.ResetPublishRequest();
                await PublishAsync(stopped: false, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (RequestFailedException ex)
            {
                logger.HeartbeatFailed(ex);
            }
        }
    }

    private Task PublishAsync(bool stopped, CancellationToken cancellationToken)
    {
        var host = HostFigures.Read(_cpu);
        string[] roles = ["share", "envs", "work"];
        string[] dirs = [paths.DataRoot, paths.Envs, Path.GetTempPath()];
        var disks = dirs.Select((d, i) => (Role: roles[i], Disk: DiskSpace.Read(d)))
            .Where(x => x.Disk is not null)
            .Select(x => new RunnerDisk(x.Role, x.Disk!.Path, x.Disk.TotalBytes, x.Disk.FreeBytes))
            .ToList();
        return registry.PublishAsync(
            new RunnerInfo
            {
                RunnerId = state.RunnerId,
                Host = Environment.MachineName,
                StartedAt = state.StartedAt,
                LastHeartbeat = time.GetUtcNow(),
                ActiveJobs = state.ActiveJobs.Count,
                MaxConcurrent = settings.Value.MaxConcurrentTasks,
                Stopped = stopped,
                Capabilities = state.CurrentCapabilities ?? new RunnerCapabilities(),
                MemoryTotalMb = host.MemoryTotalMb,
                MemoryUsedMb = host.MemoryUsedMb,
                CpuPercent = host.CpuPercent,
                LoadAverage = host.Load?.ToList(),
                Disks = disks,
                Pool = options.Value.Pool,

                // Follows the affinity mask and the container's CPU limit, so it is what runs here may use.
                Cores = Environment.ProcessorCount,
                Gpus = options.Value.Gpus,
            },
            cancellationToken);
    }
}

/// <summary>Reads this runner's control queue and applies stop, pause and resume to the jobs it holds.</summary>
public sealed class ControlListener(
    StorageAccount storage,
    StorageNames names,
    RunnerState state,
    IOptions<RunnerOptions> options,
    TimeProvider time,
    ILogger<ControlListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var queue = storage.Queues.GetQueueClient(RunnerStorage.ControlQueue(names, state.RunnerId));
        var interval = TimeSpan.FromMilliseconds(options.Value.ControlPollMilliseconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var messages = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30), stoppingToken)).Value;
                foreach (var message in messages)
                {
                    var control = TryParse(message.Body.ToString());
                    if (control is not null && state.Apply(control.JobId, control.Action))
                    {
                        logger.JobControl(control.JobId, control.Action.ToString().ToLowerInvariant());
                    }

                    // A request for a job this runner no longer holds is moot: the jobs table keeps it for a later holder.
                    await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, stoppingToken);
                }

                if (messages.Length == 0)
                {
                    await Task.Delay(interval, time, stoppingToken);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (RequestFailedException ex)
            {
                logger.PollFailed(ex);
                await Task.Delay(interval, time, CancellationToken.None);
            }
        }
    }

    private static RunnerControlMessage? TryParse(string text)
    {
        try
        {
            return RunnerJson.Deserialize<RunnerControlMessage>(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
