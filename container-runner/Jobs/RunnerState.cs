using System.Collections.Concurrent;
using EnvFabric.Core.Runner;
using EnvFabric.Runner.Processes;

namespace EnvFabric.Runner.Jobs;

/// <summary>This runner process: its id, its discovered capabilities, and the jobs it holds right now.</summary>
public sealed class RunnerState
{
    private readonly TaskCompletionSource<RunnerCapabilities> _capabilities = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile Task<RunnerCapabilities>? _current;
    private TaskCompletionSource _publish = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RunnerState(RunnerOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        RunnerId = string.IsNullOrWhiteSpace(options.RunnerId) ? NewId() : options.RunnerId;
        StartedAt = time.GetUtcNow();
    }

    public string RunnerId { get; }

    public DateTimeOffset StartedAt { get; }

    public ConcurrentDictionary<string, JobControl> ActiveJobs { get; } = new(StringComparer.Ordinal);

    /// <summary>Completes once discovery ran; jobs wait for it. After a refresh, the refreshed capabilities.</summary>
    public Task<RunnerCapabilities> Capabilities => _current ?? _capabilities.Task;

    /// <summary>The latest discovery (null before the first): what heartbeats publish.</summary>
    public RunnerCapabilities? CurrentCapabilities { get; private set; }

    /// <summary>Records a discovery: the first completes <see cref="Capabilities"/>; later ones (a refresh) replace it.</summary>
    public void SetCapabilities(RunnerCapabilities capabilities)
    {
        CurrentCapabilities = capabilities;
        _current = Task.FromResult(capabilities);
        _capabilities.TrySetResult(capabilities);
    }

    /// <summary>Asks for the runner's row to be published now rather than at the next heartbeat.</summary>
    public void RequestPublish() => Volatile.Read(ref _publish).TrySetResult();

    /// <summary>Completes when <see cref="RequestPublish"/> was called since the last <see cref="ResetPublishRequest"/>.</summary>
    public Task PublishRequested => Volatile.Read(ref _publish).Task;

    /// <summary>Starts waiting for the next request (after a publish).</summary>
    public void ResetPublishRequest()
    {
        var current = Volatile.Read(ref _publish);
        if (current.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _publish, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
        }
    }

    /// <summary>Applies a control request to a job this runner holds; false when it holds no such job.</summary>
    public bool Apply(string jobId, RunnerControlAction action)
    {
        if (!ActiveJobs.TryGetValue(jobId, out var control))
        {
            return false;
        }

        switch (action)
        {
            case RunnerControlAction.Stop:
                control.Stop();
                break;
            case RunnerControlAction.Pause:
                control.Pause();
                break;
            case RunnerControlAction.Resume:
                control.Resume();
                break;
        }

        return true;
    }

    private static string NewId()
    {
        var host = new string(Environment.MachineName.ToLowerInvariant().Where(c => char.IsAsciiLetterOrDigit(c) || c == '-').ToArray()).Trim('-');
        if (host.Length > 20)
        {
            host = host[..20].TrimEnd('-');
        }

        var suffix = Guid.NewGuid().ToString("N")[..8];
        return host.Length == 0 ? "runner-" + suffix : host + "-" + suffix;
    }
}
