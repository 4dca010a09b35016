using System.Globalization;

namespace EnvFabric.Runner.Processes;

/// <summary>
/// Enforces a <see cref="RunQuota"/> on one running process tree without cgroups (which a Container App does not
/// delegate): the reaper has already pinned the tree to its cores and set RLIMIT_AS before exec; this watches the
/// tree's resident memory (sum of RSS over the tree from /proc, and the job root's VmHWM between samples) every
/// <c>interval</c> and SIGKILLs the group once it is over the memory quota, and for a fractional CPU quota stops
/// and continues the group in a 100 ms period (SIGSTOP/SIGCONT, as <c>cpulimit</c> does). The throttle never
/// continues a paused job: <see cref="JobControl"/> decides under its lock.
/// </summary>
internal sealed class QuotaEnforcer
{
    /// <summary>The throttle's period: the run may run duty × period of each.</summary>
    public static readonly TimeSpan ThrottlePeriod = TimeSpan.FromMilliseconds(100);

    private readonly RunQuota _quota;
    private readonly ProcessGroup _group;
    private readonly JobControl _control;
    private readonly JobMetrics _metrics;
    private readonly CancellationTokenSource _stop;
    private readonly Task _memoryWatch;
    private readonly Thread? _throttle;
    private long _peakBytes;
    private int _exceeded;
    private int _stopped;

    private QuotaEnforcer(RunQuota quota, ProcessGroup group, JobControl control, JobMetrics metrics, TimeSpan interval)
    {
        _quota = quota;
        _group = group;
        _control = control;
        _metrics = metrics;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(control.StopToken);
        _memoryWatch = quota.MemoryLimitMb is { } limit ? WatchMemoryAsync(limit * 1024 * 1024, interval, _stop.Token) : Task.CompletedTask;
        if (quota.DutyCycle is { } duty)
        {
            _throttle = new Thread(() => Throttle(duty, _stop.Token)) { IsBackground = true, Name = "envfabric-cpu-throttle" };
            _throttle.Start();
        }
    }

    /// <summary>True once the tree went over its memory quota and was killed for it.</summary>
    public bool MemoryExceeded => Volatile.Read(ref _exceeded) == 1;

    /// <summary>The largest resident memory measured of the tree (MiB).</summary>
    public double PeakMemoryMb => Interlocked.Read(ref _peakBytes) / (1024.0 * 1024.0);

    /// <summary>Starts enforcing on a group that has just started.</summary>
    public static QuotaEnforcer Start(RunQuota quota, ProcessGroup group, JobControl control, JobMetrics metrics, TimeSpan interval) =>
        new(quota, group, control, metrics, interval);

    /// <summary>
    /// Ends the watch and the throttle (before a termination, or once the process exited); a group the throttle
    /// left stopped is continued unless the job is paused. Once; later calls return at once.
    /// </summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        await _memoryWatch;
        _throttle?.Join();
        _stop.Dispose();
    }

    private async Task WatchMemoryAsync(long limitBytes, TimeSpan interval, CancellationToken stop)
    {
        // Yield at once: the caller goes on to wait for the process while this samples on the pool.
        await Task.Yield();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var used = Sample();
                if (used > limitBytes)
                {
                    Volatile.Write(ref _exceeded, 1);
                    _group.Signal(Native.SigKill);
                    return;
                }
            }
            catch (IOException)
            {
                // /proc entries vanish while read; the next sample reads again.
            }

            try
            {
                await Task.Delay(interval, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One sample: the tree's resident memory (bytes), the larger of its RSS sum and its root's VmHWM.</summary>
    private long Sample()
    {
        // The root is the reaper: its few MB are not the job's.
        var job = ProcFs.Tree(_group.Pid, _group.GroupId).Where(p => p.Pid != _group.Pid).ToList();
        var live = job.Where(p => p.State != 'Z').ToList();
        if (live.Count == 0)
        {
            return 0;
        }

        var rss = live.Sum(p => p.RssBytes);
        var hwm = live.Where(p => p.ParentPid == _group.Pid).Select(p => ProcFs.ReadPeakRss(p.Pid)).DefaultIfEmpty().Max();
        _metrics.Record(rss, hwm, job.Sum(p => p.CpuTicks) / (double)Native.ClockTicks);
        var used = Math.Max(rss, hwm);
        var peak = Interlocked.Read(ref _peakBytes);
        while (used > peak && Interlocked.CompareExchange(ref _peakBytes, used, peak) != peak)
        {
            peak = Interlocked.Read(ref _peakBytes);
        }

        return used;
    }

    private void Throttle(double duty, CancellationToken stop)
    {
        var run = TimeSpan.FromTicks((long)(ThrottlePeriod.Ticks * duty));
        var rest = ThrottlePeriod - run;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                _control.ThrottleContinue(_group);
                if (stop.WaitHandle.WaitOne(run))
                {
                    break;
                }

                _control.ThrottleStop(_group);
                if (stop.WaitHandle.WaitOne(rest))
                {
                    break;
                }
            }
        }
        finally
        {
            _control.ThrottleContinue(_group);
        }
    }
}

/// <summary>How this runner enforces run quotas, as it reports at start (log and capabilities).</summary>
internal static class QuotaMechanism
{
    /// <summary>One line naming the mechanisms, the runner's cores and why cgroups are not used.</summary>
    public static string Describe(CoreAllocator cores, TimeSpan memoryInterval)
    {
        ArgumentNullException.ThrowIfNull(cores);
        var invariant = CultureInfo.InvariantCulture;
        return string.Create(invariant,
            $"run quotas: memory by the runner (the run's resident memory every {memoryInterval.TotalMilliseconds:0} ms, SIGKILL of its process group over the quota; "
            + $"RLIMIT_AS of {RunQuota.AddressSpaceFactor}x the quota, at least the quota + {RunQuota.AddressSpaceHeadroomMb} MiB, as a backstop), "
            + $"CPU by affinity to ceil(cpu) of the runner's {cores.Cores.Count} core(s) ({string.Join(',', cores.Cores)}) round-robin and, for a fraction, "
            + $"a SIGSTOP/SIGCONT duty cycle in a {QuotaEnforcer.ThrottlePeriod.TotalMilliseconds:0} ms period; cgroups are not used ({CgroupState()})");
    }

    /// <summary>What /sys/fs/cgroup offers this process: no v2 hierarchy (v1 or none), v2 without the memory and cpu controllers, v2 read-only, or delegated.</summary>
    public static string CgroupState(string root = "/sys/fs/cgroup")
    {
        var controllers = Path.Combine(root, "cgroup.controllers");
        try
        {
            if (!File.Exists(controllers))
            {
                return $"no cgroup v2 hierarchy at {root}";
            }

            var names = File.ReadAllText(controllers).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (!names.Contains("memory") || !names.Contains("cpu"))
            {
                return $"cgroup v2 at {root} without the memory and cpu controllers";
            }

            // Delegated means this process may create a child group: try one, and take it away again.
            var probe = Path.Combine(root, $"envfabric-probe-{Environment.ProcessId}");
            Directory.CreateDirectory(probe);
            Directory.Delete(probe);
            return $"cgroup v2 at {root} is delegated, but this runner does not create per-run groups";
        }
        catch (IOException ex)
        {
            return $"cgroup v2 at {root} is not delegated ({ex.Message})";
        }
        catch (UnauthorizedAccessException)
        {
            return $"cgroup v2 at {root} is not delegated (read-only)";
        }
    }
}
