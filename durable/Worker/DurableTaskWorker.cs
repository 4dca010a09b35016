using EnvFabric.Durable.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EnvFabric.Durable.Worker;

/// <summary>
/// The worker a host runs: partition leases, the control-queue listeners of the owned partitions, and the
/// activity dispatcher over the shared work-item queue.
/// </summary>
internal sealed class DurableTaskWorker : BackgroundService, IDurableWorkerStatus
{
    private readonly TaskHubStorage _storage;
    private readonly ILogger _logger;
    private readonly OrchestrationDispatcher _orchestrations;
    private readonly ActivityDispatcher _activities;
    private readonly PartitionLeaseManager _leases;
    private readonly string _workerId;

    public DurableTaskWorker(TaskHubStorage storage, TaskRegistry registry, IServiceProvider services, ILoggerFactory loggerFactory)
    {
        _storage = storage;
        _logger = loggerFactory.CreateLogger("EnvFabric.Durable.Worker");
        _workerId = storage.Options.WorkerId ?? $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        _orchestrations = new OrchestrationDispatcher(storage, registry, services, loggerFactory);
        _activities = new ActivityDispatcher(storage, registry, services, _logger);
        _leases = new PartitionLeaseManager(storage, _workerId, _logger, _orchestrations.StartPartitionAsync, _orchestrations.StopPartitionAsync);
    }

    /// <summary>This worker's id in the lease table.</summary>
    public string WorkerId => _workerId;

    /// <summary>The partitions this worker owns now.</summary>
    public IReadOnlyCollection<int> OwnedPartitions => _leases.Owned;

    public Exception? Failure => ExecuteTask is { IsFaulted: true } task ? task.Exception!.GetBaseException() : null;

    public override void Dispose()
    {
        _orchestrations.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                await _storage.EnsureCreatedAsync(stoppingToken).ConfigureAwait(false);
                break;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Azure.RequestFailedException ex)
            {
                _logger.LeaseLoopFailed(ex);
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken).ConfigureAwait(false);
            }
        }

        _logger.WorkerStarted(_workerId, _storage.HubName, _storage.ControlQueues.Count);
        _orchestrations.Initialize(stoppingToken);
        var activities = Task.Run(() => _activities.RunAsync(stoppingToken), CancellationToken.None);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _leases.BalanceAsync(stoppingToken).ConfigureAwait(false);
                if (_storage.Options.ExtendedSessionsEnabled)
                {
                    _orchestrations.SweepIdleSessions();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                _logger.LeaseLoopFailed(ex);
            }

            try
            {
                await Task.Delay(_leases.Period, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        // Graceful stop: finish running episodes, then hand the leases back so another worker takes over at once.
        await _orchestrations.StopAllAsync().ConfigureAwait(false);
        using var release = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _leases.ReleaseAllAsync(release.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or Azure.RequestFailedException)
        {
            _logger.LeaseLoopFailed(ex);
        }

        await activities.ConfigureAwait(false);
        _logger.WorkerStopped(_workerId);
    }
}
