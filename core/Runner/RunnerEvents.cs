namespace EnvFabric.Core.Runner;

/// <summary>
/// External event names the runner raises on the orchestration named by <see cref="RunnerJob.InstanceId"/>.
/// Every payload carries the <see cref="RunnerJob.JobId"/>: an orchestration ignores events whose id is not
/// the attempt it waits for. Events may repeat (at-least-once); <see cref="Completed"/> for one job id always
/// carries the same result.
/// </summary>
public static class RunnerEvents
{
    /// <summary>The first process of the job started; payload <see cref="JobStartedEvent"/>.</summary>
    public const string Started = "JobStarted";

    /// <summary>Every <see cref="RunnerDefaults.JobHeartbeatInterval"/> while the job runs; payload <see cref="JobHeartbeatEvent"/>.</summary>
    public const string Heartbeat = "JobHeartbeat";

    /// <summary>The job ended; payload <see cref="JobCompletedEvent"/>.</summary>
    public const string Completed = "JobCompleted";
}

/// <summary>Payload of <see cref="RunnerEvents.Started"/>.</summary>
public sealed record JobStartedEvent(string JobId, string RunnerId, DateTimeOffset StartedAt, int? ProcessId, DateTimeOffset? ProcessStartedAt);

/// <summary>Payload of <see cref="RunnerEvents.Heartbeat"/>: the job is alive, with its resource use so far.</summary>
public sealed record JobHeartbeatEvent(string JobId, string RunnerId, DateTimeOffset At, double ElapsedSeconds, double CurrentMemoryMb, double PeakMemoryMb, double CpuSeconds, bool Paused);

/// <summary>Payload of <see cref="RunnerEvents.Completed"/>.</summary>
public sealed record JobCompletedEvent(string JobId, JobResult Result);

/// <summary>
/// Where the runner reports a job's life. The runner's implementation raises external events through the
/// durable client; tests record them.
/// </summary>
public interface IJobEventSink
{
    /// <summary>Reports <see cref="RunnerEvents.Started"/>.</summary>
    Task StartedAsync(string instanceId, JobStartedEvent payload, CancellationToken cancellationToken);

    /// <summary>Reports <see cref="RunnerEvents.Heartbeat"/>.</summary>
    Task HeartbeatAsync(string instanceId, JobHeartbeatEvent payload, CancellationToken cancellationToken);

    /// <summary>Reports <see cref="RunnerEvents.Completed"/>.</summary>
    Task CompletedAsync(string instanceId, JobCompletedEvent payload, CancellationToken cancellationToken);
}

/// <summary>Defaults shared by the runner and the waiting side.</summary>
public static class RunnerDefaults
{
    /// <summary>How often a running job heartbeats.</summary>
    public static readonly TimeSpan JobHeartbeatInterval = TimeSpan.FromSeconds(5);

    /// <summary>How often a runner refreshes its row in the Runners table.</summary>
    public static readonly TimeSpan RunnerHeartbeatInterval = TimeSpan.FromSeconds(10);

    /// <summary>A runner (or job) silent for longer than this is considered dead.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(30);
}
