using System.Globalization;

namespace EnvFabric.Runner.Processes;

/// <summary>
/// The limits of one run (a script job's <c>MemoryLimitMb</c> and <c>CpuLimit</c>), enforced by the runner on the
/// run's process tree: see <see cref="QuotaEnforcer"/> for how.
/// </summary>
public sealed record RunQuota
{
    /// <summary>
    /// The address-space limit (RLIMIT_AS) set before exec is this many times the memory quota, and at least the quota
    /// plus <see cref="AddressSpaceHeadroomMb"/>: virtual size runs far ahead of resident memory (a thread's stack,
    /// glibc's 64 MiB malloc arenas, mapped libraries), so the limit is only a backstop against a burst faster than
    /// the resident-memory watch, never what normally ends a run.
    /// </summary>
    public const int AddressSpaceFactor = 4;

    /// <summary>The least headroom above the quota the address-space limit leaves (MiB).</summary>
    public const long AddressSpaceHeadroomMb = 1024;

    /// <summary>Resident memory (MiB) the run's process tree may use; null for no memory quota.</summary>
    public long? MemoryLimitMb { get; init; }

    /// <summary>CPU cores the run may use (0.5 = half a core); null for no CPU quota.</summary>
    public double? CpuLimit { get; init; }

    /// <summary>True when there is anything to enforce.</summary>
    public bool Any => MemoryLimitMb is not null || CpuLimit is not null;

    /// <summary>The quota of a script job; null when it has none.</summary>
    public static RunQuota? Of(long? memoryLimitMb, double? cpuLimit) =>
        memoryLimitMb is null && cpuLimit is null ? null : new RunQuota { MemoryLimitMb = memoryLimitMb, CpuLimit = cpuLimit };

    /// <summary>Why a quota cannot be enforced (not positive, not a number); null when it is valid.</summary>
    public string? Invalid() =>
        MemoryLimitMb is <= 0 ? $"invalid memory quota {MemoryLimitMb} MiB (must be above 0)"
        : CpuLimit is { } cpu && (!double.IsFinite(cpu) || cpu <= 0) ? $"invalid CPU quota {cpu.ToString(CultureInfo.InvariantCulture)} (must be above 0)"
        : null;

    /// <summary>RLIMIT_AS in bytes for the memory quota; null without one.</summary>
    public long? AddressSpaceLimitBytes => MemoryLimitMb is { } mb
        ? checked(Math.Max(mb * AddressSpaceFactor, mb + AddressSpaceHeadroomMb) * 1024 * 1024)
        : null;

    /// <summary>Whole cores the run is pinned to: the CPU quota rounded up.</summary>
    public int? Cores => CpuLimit is { } cpu ? (int)Math.Ceiling(cpu) : null;

    /// <summary>
    /// Share of each throttle period the run may run on its <see cref="Cores"/>: cpu / ceil(cpu) (0.5 for half a core,
    /// 0.75 for 1.5 cores); null when the quota is whole cores and affinity alone enforces it.
    /// </summary>
    public double? DutyCycle => CpuLimit is { } cpu && Cores is { } cores && cpu < cores ? cpu / cores : null;

    /// <summary>The failure reason of a run over its memory quota.</summary>
    public static string MemoryExceeded(double peakMb, long quotaMb) =>
        string.Create(CultureInfo.InvariantCulture, $"memory quota exceeded: {Math.Round(peakMb):0} MiB used, quota {quotaMb} MiB");
}

/// <summary>
/// The runner's allowed cores (its own affinity at start), handed out round-robin: each run with a CPU quota is
/// pinned to the next ceil(cpu) of them, so runs spread over the cores instead of all landing on the first.
/// </summary>
public sealed class CoreAllocator
{
    private readonly Lock _gate = new();
    private int _next;

    /// <summary>An allocator over the given cores (tests); <see cref="ForThisProcess"/> reads the runner's own.</summary>
    public CoreAllocator(IReadOnlyList<int> cores)
    {
        ArgumentNullException.ThrowIfNull(cores);
        Cores = cores.Count == 0 ? [0] : cores;
    }

    /// <summary>The cores this allocator hands out, as the runner may use them.</summary>
    public IReadOnlyList<int> Cores { get; }

    /// <summary>The cores in the runner's own affinity mask (<c>Cpus_allowed_list</c> of /proc/self/status).</summary>
    public static CoreAllocator ForThisProcess()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal) && ParseList(line["Cpus_allowed_list:".Length..]) is { Count: > 0 } cores)
                {
                    return new CoreAllocator(cores);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return new CoreAllocator([.. Enumerable.Range(0, Environment.ProcessorCount)]);
    }

    /// <summary>The next <paramref name="count"/> cores (all of them when it is the runner's count or more).</summary>
    public IReadOnlyList<int> Take(int count)
    {
        if (count >= Cores.Count)
        {
            return Cores;
        }

        lock (_gate)
        {
            var start = _next;
            _next = (_next + count) % Cores.Count;
            return [.. Enumerable.Range(start, Math.Max(1, count)).Select(i => Cores[i % Cores.Count]).Order()];
        }
    }

    /// <summary>Parses a kernel CPU list such as <c>0-3,8,10-11</c>; null when malformed.</summary>
    public static List<int>? ParseList(string text)
    {
        var cores = new SortedSet<int>();
        foreach (var part in (text ?? "").Trim().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            var invariant = CultureInfo.InvariantCulture;
            if (dash < 0 && int.TryParse(part, NumberStyles.None, invariant, out var single))
            {
                cores.Add(single);
            }
            else if (dash > 0 && int.TryParse(part[..dash], NumberStyles.None, invariant, out var from)
                && int.TryParse(part[(dash + 1)..], NumberStyles.None, invariant, out var to) && from <= to && to - from < 65536)
            {
                for (var c = from; c <= to; c++)
                {
                    cores.Add(c);
                }
            }
            else
            {
                return null;
            }
        }

        return [.. cores];
    }
}
