using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Runner;

/// <summary>The storage the runner contract uses, named through <see cref="StorageNames"/> (deployment prefix applied).</summary>
public static class RunnerStorage
{
    /// <summary>Queue of <see cref="RunnerJob"/> messages.</summary>
    public static string JobQueue(StorageNames names) => Require(names).Queue("runner-jobs");

    /// <summary>Per-runner control queue (stop, pause, resume reach the runner holding the job).</summary>
    public static string ControlQueue(StorageNames names, string runnerId) => Require(names).Queue("runner-ctl-" + runnerId);

    /// <summary>Table of runners: capabilities and heartbeat.</summary>
    public static string RunnersTable(StorageNames names) => Require(names).Table("Runners");

    /// <summary>Table of jobs the runners took: who holds each, its heartbeat, control requests, the result once finished.</summary>
    public static string JobsTable(StorageNames names) => Require(names).Table("RunnerJobs");

    /// <summary>Container of job logs (append blobs named by <see cref="RunnerJob.LogBlobName"/>).</summary>
    public static string LogsContainer(StorageNames names) => Require(names).Container("job-logs");

    /// <summary>Container for job messages and results too large for a queue message or a table property.</summary>
    public static string PayloadsContainer(StorageNames names) => Require(names).Container("runner-payloads");

    private static StorageNames Require(StorageNames names) => names ?? throw new ArgumentNullException(nameof(names));
}
