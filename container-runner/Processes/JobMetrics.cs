namespace EnvFabric.Runner.Processes;

/// <summary>
/// Resource use of one job over all its processes: tree RSS sampled from /proc while a process runs (current,
/// average, peak) and CPU time, then the kernel's own figures when it ended (the reaper's report). Thread-safe:
/// the sampler writes, the heartbeat and the result read.
/// </summary>
public sealed class JobMetrics
{
    private const double Mb = 1024.0 * 1024.0;
    private readonly Lock _gate = new();
    private long _peakBytes;
    private double _sumBytes;
    private long _samples;
    private long _currentBytes;
    private double _finishedCpuSeconds;
    private double _runningCpuSeconds;

    public double PeakMemoryMb
    {
        get { lock (_gate) { return _peakBytes / Mb; } }
    }

    public double AverageMemoryMb
    {
        get { lock (_gate) { return _samples == 0 ? 0 : _sumBytes / _samples / Mb; } }
    }

    public double CurrentMemoryMb
    {
        get { lock (_gate) { return _currentBytes / Mb; } }
    }

    public double CpuSeconds
    {
        get { lock (_gate) { return _finishedCpuSeconds + _runningCpuSeconds; } }
    }

    /// <summary>One sample of the running process tree.</summary>
    internal void Record(long rssBytes, long peakRssBytes, double cpuSeconds)
    {
        lock (_gate)
        {
            _currentBytes = rssBytes;
            _peakBytes = Math.Max(_peakBytes, Math.Max(rssBytes, peakRssBytes));
            _sumBytes += rssBytes;
            _samples++;
            _runningCpuSeconds = Math.Max(_runningCpuSeconds, cpuSeconds);
        }
    }

    /// <summary>
    /// The process ended. With the reaper's report, the kernel's figures of it count: ru_maxrss raises the peak
    /// (a process shorter than the sampling interval is never sampled) and its CPU time, which includes every
    /// descendant it waited for, is exact. Without one (the reaper was killed) the last sample stands.
    /// </summary>
    internal void ProcessEnded(ReaperReport? reaped)
    {
        lock (_gate)
        {
            if (reaped is not null)
            {
                _peakBytes = Math.Max(_peakBytes, reaped.MaxRssBytes);
                _runningCpuSeconds = reaped.CpuSeconds;

                // Never sampled: the peak is the one figure known of it.
                if (_samples == 0)
                {
                    _sumBytes = reaped.MaxRssBytes;
                    _samples = 1;
                }
            }

            _finishedCpuSeconds += _runningCpuSeconds;
            _runningCpuSeconds = 0;
            _currentBytes = 0;
        }
    }
}

/// <summary>
/// Samples every running job process tree from /proc on one timer (every 500 ms by default): a single scan of
/// /proc per tick serves all jobs, so fifty concurrent jobs cost one scan, not fifty.
/// </summary>
public sealed class ProcessSampler : IDisposable
{
    private readonly Dictionary<int, (ProcessGroup Group, JobMetrics Metrics)> _watched = [];
    private readonly Lock _gate = new();
    private readonly Timer _timer;

    public ProcessSampler(TimeSpan interval)
    {
        _timer = new Timer(_ => Tick(), null, interval, interval);
    }

    internal void Watch(ProcessGroup group, JobMetrics metrics)
    {
        lock (_gate)
        {
            _watched[group.Pid] = (group, metrics);
        }
    }

    internal void Unwatch(ProcessGroup group)
    {
        lock (_gate)
        {
            _watched.Remove(group.Pid);
        }
    }

    /// <summary>Samples one tree now (also called just before the exit is awaited).</summary>
    internal static void Sample(ProcessGroup group, JobMetrics metrics)
    {
        var tree = ProcFs.Tree(group.Pid, group.GroupId);
        Record(group, metrics, tree);
    }

    private static void Record(ProcessGroup group, JobMetrics metrics, List<ProcStat> tree)
    {
        // The root is the reaper: its few MB and its CPU time are not the job's.
        var job = tree.Where(p => p.Pid != group.Pid).ToList();
        var live = job.Where(p => p.State != 'Z').ToList();
        if (live.Count == 0)
        {
            return;
        }

        var rss = live.Sum(p => p.RssBytes);

        // VmHWM of the job's root process (the reaper's child) keeps a peak between two samples.
        var peak = live.Where(p => p.ParentPid == group.Pid).Select(p => ProcFs.ReadPeakRss(p.Pid)).DefaultIfEmpty().Max();
        var cpu = job.Sum(p => p.CpuTicks) / (double)Native.ClockTicks;
        metrics.Record(rss, peak, cpu);
    }

    private void Tick()
    {
        KeyValuePair<int, (ProcessGroup Group, JobMetrics Metrics)>[] watched;
        lock (_gate)
        {
            if (_watched.Count == 0)
            {
                return;
            }

            watched = [.. _watched];
        }

        try
        {
            var all = ProcFs.All();
            foreach (var (_, (group, metrics)) in watched)
            {
                Record(group, metrics, ProcFs.Tree(all, group.Pid, group.GroupId));
            }
        }
        catch (IOException)
        {
            // /proc entries vanish while read; the next tick samples again.
        }
    }

    public void Dispose() => _timer.Dispose();
}
