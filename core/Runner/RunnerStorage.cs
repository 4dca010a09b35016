using System.Security.Cryptography;
using System.Text;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Core.Runner;

/// <summary>The storage the runner contract uses, named through <see cref="StorageNames"/> (deployment prefix applied).</summary>
public static class RunnerStorage
{
    /// <summary>Queue names are 3 to 63 characters.</summary>
    public const int MaxQueueNameLength = 63;

    /// <summary>Queue of <see cref="RunnerJob"/> messages of the <c>default</c> pool.</summary>
    public static string JobQueue(StorageNames names) => Require(names).Queue("runner-jobs");

    /// <summary>
    /// Queue of the jobs of <paramref name="pool"/>: <c>runner-jobs</c> for <c>default</c> (so deployments from before
    /// pools keep their queue), <c>runner-jobs-{pool}</c> otherwise. Where the deployment prefix and a long pool name
    /// would pass 63 characters, the pool part is cut and ends with 8 hex digits of its SHA-256, so it stays unique.
    /// </summary>
    public static string JobQueue(StorageNames names, string? pool)
    {
        if (pool is null or PoolNames.Default)
        {
            return JobQueue(names);
        }

        if (!PoolNames.IsValid(pool))
        {
            throw new ArgumentException($"'{pool}' is not a pool name", nameof(pool));
        }

        var name = Require(names).Queue("runner-jobs-" + pool);
        if (name.Length <= MaxQueueNameLength)
        {
            return name;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(pool)))[..8];
        var room = MaxQueueNameLength - names.Queue("runner-jobs-").Length - hash.Length - 1;
        return names.Queue("runner-jobs-" + pool[..Math.Max(1, room)].TrimEnd('-') + "-" + hash);
    }

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
