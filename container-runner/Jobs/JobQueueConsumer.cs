using System.Collections.Concurrent;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Runner.Backends;
using Microsoft.Extensions.Options;

namespace EnvFabric.Runner.Jobs;

/// <summary>
/// Takes jobs from the queue of the runner's pool (RUNNER_POOL) and runs up to MAX_CONCURRENT_TASKS at once.
/// Delivery guarantee: AT LEAST ONCE in (a message is deleted only after its job's result is stored), ONCE IN
/// EFFECT (a job id whose row says finished is never run again: its stored result is reported instead).
/// </summary>
public sealed class JobQueueConsumer(
    StorageAccount storage,
    StorageNames names,
    RunnerJobTable jobs,
    JobExecutor executor,
    RunnerState state,
    IOptions<EnvFabric.Core.Configuration.EnvFabricOptions> settings,
    IOptions<RunnerOptions> options,
    TimeProvider time,
    ILogger<JobQueueConsumer> logger) : BackgroundService
{
    private readonly QueueClient _queue = storage.Queues.GetQueueClient(RunnerStorage.JobQueue(names, options.Value.Pool));
    private readonly BlobContainerClient _payloads = storage.Blobs.GetBlobContainerClient(RunnerStorage.PayloadsContainer(names));
    private readonly RunnerOptions _options = options.Value;
    private readonly SemaphoreSlim _slots = new(settings.Value.MaxConcurrentTasks, settings.Value.MaxConcurrentTasks);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly List<Task> _running = [];
    private readonly ConcurrentDictionary<string, byte> _handedBack = new(StringComparer.Ordinal);

    private static readonly TimeSpan HotWindow = TimeSpan.FromMilliseconds(200);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await _queue.CreateIfNotExistsAsync(cancellationToken: stoppingToken);
        await state.Capabilities.WaitAsync(stoppingToken);
        var visibility = TimeSpan.FromSeconds(_options.VisibilityTimeoutSeconds);
        var minDelay = TimeSpan.FromMilliseconds(_options.PollMinMilliseconds);
        var maxDelay = TimeSpan.FromMilliseconds(Math.Max(_options.PollMinMilliseconds, _options.PollMaxMilliseconds));
        var delay = minDelay;
        var lastActivity = time.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _slots.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            QueueMessage[] messages;
            try
            {
                // Only as many messages as free slots: the rest stay in the queue for other runners.
                var free = Math.Min(32, _slots.CurrentCount + 1);
                messages = (await _queue.ReceiveMessagesAsync(free, visibility, stoppingToken)).Value;
            }
            catch (OperationCanceledException)
            {
                _slots.Release();
                break;
            }
            catch (RequestFailedException ex)
            {
                _slots.Release();
                logger.PollFailed(ex);
                await WaitAsync(maxDelay, stoppingToken);
                continue;
            }

            if (messages.Length == 0)
            {
                _slots.Release();

                // Backoff while idle, but stay at the shortest interval for a moment after any activity: a job that
                // just finished or arrived is often followed by the next one from the same producer.
                var woken = await WaitAsync(delay, stoppingToken);
                if (woken)
                {
                    lastActivity = time.GetTimestamp();
                }

                delay = time.GetElapsedTime(lastActivity) < HotWindow ? minDelay : TimeSpan.FromTicks(Math.Min(maxDelay.Ticks, delay.Ticks * 2));
                continue;
            }

            lastActivity = time.GetTimestamp();
            delay = minDelay;
            for (var i = 0; i < messages.Length; i++)
            {
                if (i > 0)
                {
                    await _slots.WaitAsync(CancellationToken.None);
                }

                var message = messages[i];
                var task = Task.Run(() => HandleAsync(message, visibility, stoppingToken), CancellationToken.None);
                lock (_running)
                {
                    _running.Add(task);
                }

                _ = task.ContinueWith(
                    t =>
                    {
                        lock (_running)
                        {
                            _running.Remove(t);
                        }

                        _slots.Release();

                        // A finished job often means its producer enqueues the next one: poll again at once.
                        _wake.Release();
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }

        Task[] running;
        lock (_running)
        {
            running = [.. _running];
        }

        // Jobs still running are stopped by the cancelled token; their messages were not deleted, so they are
        // delivered again (at least once) once their invisibility ends.
        await Task.WhenAll(running);
    }

    public override void Dispose()
    {
        _slots.Dispose();
        _wake.Dispose();
        base.Dispose();
    }

    /// <summary>Waits <paramref name="delay"/>; true when a finished job woke the loop early.</summary>
    private async Task<bool> WaitAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            return await _wake.WaitAsync(delay, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task HandleAsync(QueueMessage message, TimeSpan visibility, CancellationToken stoppingToken)
    {
        var receipt = new Receipt(message.MessageId, message.PopReceipt);
        string? jobIdForLog = null;
        try
        {
            var text = await ResolvePayloadAsync(message.Body.ToString(), stoppingToken);
            if (!RunnerJson.TryDeserializeJob(text, out var job, out var error))
            {
                logger.JobRejected(error!);
                var loose = LooseJob(text);
                if (loose is not null)
                {
                    await executor.RejectAsync(loose, error!, stoppingToken);
                }

                // A malformed message can never succeed: removing it is the only way it stops coming back.
                await DeleteAsync(receipt);
                return;
            }

            jobIdForLog = job!.JobId;
            var existing = await jobs.GetAsync(job.JobId, stoppingToken);
            if (existing?.State == RunnerJobStates.Finished && existing.Result is { } done)
            {
                logger.JobAlreadyFinished(job.JobId);
                await executor.ReportFinishedAsync(job, done);

                // Redelivery of a finished job (its first delete was lost, or a duplicate enqueue): the job ran
                // once; the message is removed now. Once in effect.
                await DeleteAsync(receipt);
                return;
            }

            if (existing?.State == RunnerJobStates.Running
                && (existing.RunnerId == state.RunnerId
                    ? state.ActiveJobs.ContainsKey(job.JobId)
                    : !existing.IsStale(time.GetUtcNow(), RunnerDefaults.StaleAfter)))
            {
                logger.JobHeldElsewhere(job.JobId, existing.RunnerId!);

                // A live runner (this one or another) holds this job and our copy became visible while it runs:
                // hide the message again instead of running the job twice; if that runner dies the message comes
                // back and the stale heartbeat lets the next runner take it. At least once.
                await _queue.UpdateMessageAsync(receipt.MessageId, receipt.PopReceipt, visibilityTimeout: visibility, cancellationToken: stoppingToken);
                return;
            }

            if (job is PythonInstallJob install && existing?.State is null && PythonInstaller.ChooseTool(install, await state.Capabilities.WaitAsync(stoppingToken)) is null)
            {
                if (message.DequeueCount >= _options.MaxDequeueCount)
                {
                    await executor.RejectAsync(job, $"delivered {message.DequeueCount} times to runners without uv or conda", stoppingToken);

                    // Failed and stored; removing the message ends the redeliveries.
                    await DeleteAsync(receipt);
                    return;
                }

                // This runner has neither uv nor conda: the message comes back in a moment for a runner that has
                // one. Not deleted, so at least once.
                await _queue.UpdateMessageAsync(receipt.MessageId, receipt.PopReceipt, visibilityTimeout: TimeSpan.FromSeconds(2), cancellationToken: stoppingToken);
                return;
            }

            if (job is not (ScriptJob or PythonInstallJob) && existing?.State is null
                && !(await state.Capabilities.WaitAsync(stoppingToken)).Backends.Contains(job.Backend))
            {
                if (message.DequeueCount >= _options.MaxDequeueCount)
                {
                    await executor.RejectAsync(job, $"delivered {message.DequeueCount} times to runners of pool '{_options.Pool}' without the {job.Backend.ToString().ToLowerInvariant()} backend", stoppingToken);

                    // Failed and stored; removing the message ends the redeliveries.
                    await DeleteAsync(receipt);
                    return;
                }

                if (_handedBack.TryAdd(job.JobId, 0))
                {
                    logger.JobBackendMissing(job.JobId, job.Backend.ToString().ToLowerInvariant(), state.RunnerId, _options.Pool);
                    if (_handedBack.Count > 10_000)
                    {
                        _handedBack.Clear();
                    }
                }

                // This runner lacks the job's backend (the sender routed it by a runner list a few seconds old): the
                // message comes back in a moment for another runner of the pool. Not deleted, so at least once;
                // after RUNNER_MAX_DEQUEUE such deliveries it is failed instead.
                await _queue.UpdateMessageAsync(receipt.MessageId, receipt.PopReceipt, visibilityTimeout: TimeSpan.FromSeconds(2), cancellationToken: stoppingToken);
                return;
            }

            if (existing?.State != RunnerJobStates.Finished && message.DequeueCount > _options.MaxDequeueCount)
            {
                await executor.RejectAsync(job, $"delivered {message.DequeueCount} times without finishing (the runners holding it stopped)", stoppingToken);

                // Poison: the failure is stored and reported; removing the message ends the redeliveries.
                await DeleteAsync(receipt);
                return;
            }

            using var renewal = new CancellationTokenSource();
            var renewing = RenewLoopAsync(receipt, job.JobId, visibility, renewal.Token);
            try
            {
                await executor.ExecuteAsync(job, existing, stoppingToken);
            }
            finally
            {
                state.ActiveJobs.TryRemove(job.JobId, out _);
                await renewal.CancelAsync();
                await renewing;
            }

            // Poll again now rather than after the delete below: the producer may already have sent the next job.
            _wake.Release();

            // Acknowledge only now: the result is stored (jobs table) and reported. A crash before this line
            // redelivers the message; the finished row turns that delivery into a re-report. Once in effect.
            await DeleteAsync(receipt);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Not deleted: delivered again after its invisibility ends. At least once.
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not deleted: delivered again after its invisibility ends, and the jobs table decides whether it
            // runs; after RUNNER_MAX_DEQUEUE deliveries it is failed instead. At least once.
            logger.JobCrashed(ex, jobIdForLog ?? message.MessageId);
        }
    }

    private async Task RenewLoopAsync(Receipt receipt, string jobId, TimeSpan visibility, CancellationToken stop)
    {
        var every = visibility / 3;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, time, stop);
                var updated = await _queue.UpdateMessageAsync(receipt.MessageId, receipt.PopReceipt, visibilityTimeout: visibility, cancellationToken: stop);
                receipt.PopReceipt = updated.Value.PopReceipt;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (RequestFailedException ex)
            {
                logger.RenewFailed(ex, jobId);
            }
        }
    }

    private async Task DeleteAsync(Receipt receipt)
    {
        try
        {
            await _queue.DeleteMessageAsync(receipt.MessageId, receipt.PopReceipt, CancellationToken.None);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Already gone or re-leased elsewhere; the jobs table keeps the job from running twice.
        }
    }

    private async Task<string> ResolvePayloadAsync(string text, CancellationToken cancellationToken)
    {
        if (!text.Contains(AzureRunnerJobQueue.PayloadBlobProperty, StringComparison.Ordinal))
        {
            return text;
        }

        using var document = JsonDocument.Parse(text);
        if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(AzureRunnerJobQueue.PayloadBlobProperty, out var blob) && blob.ValueKind == JsonValueKind.String)
        {
            var content = await _payloads.GetBlobClient(blob.GetString()).DownloadContentAsync(cancellationToken);
            return content.Value.Content.ToString();
        }

        return text;
    }

    /// <summary>The addressing fields of a message that failed to parse, so its sender hears of the rejection.</summary>
    private static ScriptJob? LooseJob(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            string? Get(string name) => root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var jobId = Get("job_id");
            var instance = Get("instance_id");
            var logBlob = Get("log_blob_name");
            if (!RunnerJson.IsValidJobId(jobId) || string.IsNullOrWhiteSpace(instance) || string.IsNullOrWhiteSpace(logBlob))
            {
                return null;
            }

            return new ScriptJob { JobId = jobId!, InstanceId = instance!, LogBlobName = logBlob!, EnvironmentDirectory = "", WorkingDirectory = "" };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed class Receipt(string messageId, string popReceipt)
    {
        public string MessageId { get; } = messageId;

        public string PopReceipt { get; set; } = popReceipt;
    }
}
