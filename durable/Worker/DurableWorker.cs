using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask.Converters;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EnvFabric.Durable.Worker;

/// <summary>
/// The durable worker of a host: DTFx's <see cref="TaskHubWorker"/> over the Azure Storage provider, running
/// every registered Microsoft.DurableTask orchestrator and activity through <see cref="DurableTaskShimFactory"/>
/// (the seam the SDK offers to .NET durable runtimes). DTFx does the work: partition leases, queues,
/// history checkpoints, replay; this class only builds it and hands it our shims.
/// </summary>
internal sealed class DurableWorker : IHostedService, IDurableWorkerStatus, IAsyncDisposable
{
    private readonly AzureStorageOrchestrationService _service;
    private readonly DurableTaskOptions _options;
    private readonly IServiceProvider _services;
    private readonly TaskRegistry _registry;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan GracefulStop = TimeSpan.FromSeconds(5);
    private readonly CancellationTokenSource _stopping = new();
    private Task _starting = Task.CompletedTask;
    private TaskHubWorker? _worker;
    private int _disposed;

    public DurableWorker(AzureStorageOrchestrationService service, IOptions<DurableTaskOptions> options, IServiceProvider services, TaskRegistry registry, ILoggerFactory loggerFactory)
    {
        _service = service;
        _options = options.Value;
        _services = services;
        _registry = registry;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("EnvFabric.Durable.Worker");
    }

    public string WorkerId => _options.EffectiveWorkerId;

    public bool IsRunning { get; private set; }

    public Exception? Failure { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Started in the background: a host whose storage is unreachable still starts, answers health with
        // the reason, and begins work as soon as storage answers.
        _starting = Task.Run(() => StartWorkerAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task StartWorkerAsync(CancellationToken stopping)
    {
        var shims = new DurableTaskShimFactory(
            new DurableTaskWorkerOptions { DataConverter = new JsonDataConverter(_options.SerializerOptions) },
            _loggerFactory);
        while (!stopping.IsCancellationRequested)
        {
            var worker = new TaskHubWorker(_service, _loggerFactory)
            {
                // As the SDK's own worker: without it, failures reach history without their details.
                ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails,
            };
            worker.AddTaskOrchestrations(_registry.Orchestrators
                .Select(r => (ObjectCreator<TaskOrchestration>)new OrchestrationCreator(r.Key, r.Value, shims, _services)).ToArray());
            worker.AddTaskActivities(_registry.Activities
                .Select(r => (ObjectCreator<TaskActivity>)new ActivityCreator(r.Key, r.Value, shims, _services)).ToArray());
            worker.AddOrchestrationDispatcherMiddleware(ParentInstanceMiddleware.InvokeAsync);
            try
            {
                await _service.CreateIfNotExistsAsync().WaitAsync(stopping).ConfigureAwait(false);
                await worker.StartAsync().WaitAsync(stopping).ConfigureAwait(false);
                _worker = worker;
                Failure = null;
                IsRunning = true;
                _logger.WorkerStarted(WorkerId, _options.HubName, _options.PartitionCount);
                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                worker.Dispose();
                return;
            }
            catch (Exception ex)
            {
                Failure = ex;
                worker.Dispose();
                _logger.WorkerStartFailed(ex, WorkerId);
            }

            try
            {
                await Task.Delay(RetryDelay, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _starting.ConfigureAwait(false);
        if (_worker is not { } worker)
        {
            return;
        }

        _worker = null;
        IsRunning = false;
        try
        {
            // Not forced: running activities finish and leases are released, so another host takes the partitions
            // at once. Bounded: a stop that waits longer than that is better left to the visibility timeouts.
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(GracefulStop);
            await worker.StopAsync(isForced: false).WaitAsync(bound.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // What was in flight reappears on the queues after their visibility timeouts and another (or the
            // next) worker finishes it.
            _logger.WorkerStopTimedOut(WorkerId);
        }
        finally
        {
            worker.Dispose();
        }

        _logger.WorkerStopped(WorkerId);
    }

    public async ValueTask DisposeAsync()
    {
        // DI disposes it once per registration that hands it out (worker, hosted service, status).
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
