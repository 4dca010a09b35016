using System.Globalization;

namespace EnvFabric.Core.Monitoring;

/// <summary>The cumulative CPU time counters of the first (<c>cpu</c>) line of /proc/stat, in clock ticks.</summary>
/// <param name="Busy">Every counter but idle and iowait.</param>
/// <param name="Total">Every counter (guest time is already inside user and nice, so it is not added again).</param>
public sealed record CpuTimes(long Busy, long Total)
{
    /// <summary>Parses the text of /proc/stat; null when it has no well-formed <c>cpu</c> line.</summary>
    public static CpuTimes? Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var line in text.Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 5 || parts[0] != "cpu")
            {
                continue;
            }

            // user nice system idle iowait irq softirq steal guest guest_nice
            var values = new long[Math.Min(parts.Length - 1, 8)];
            for (var i = 0; i < values.Length; i++)
            {
                if (!long.TryParse(parts[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]))
                {
                    return null;
                }
            }

            var total = values.Sum();
            var idle = values[3] + (values.Length > 4 ? values[4] : 0);
            return new CpuTimes(total - idle, total);
        }

        return null;
    }

    /// <summary>Reads /proc/stat; null where it cannot be read (no /proc) or parsed.</summary>
    public static CpuTimes? Read(string path = "/proc/stat") => ProcText.Read(path) is { } text ? Parse(text) : null;

    /// <summary>
    /// Busy share of the CPU time between <paramref name="earlier"/> and this reading, 0 to 100; null when no
    /// time passed or the counters went backwards (a reset), so a rate is never made up.
    /// </summary>
    public double? PercentSince(CpuTimes earlier)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        var total = Total - earlier.Total;
        var busy = Busy - earlier.Busy;
        if (total <= 0 || busy < 0)
        {
            return null;
        }

        return Math.Round(Math.Clamp(100.0 * busy / total, 0, 100), 1);
    }
}

/// <summary>
/// CPU usage from /proc/stat deltas: each <see cref="Sample"/> answers the busy percentage since the previous one
/// (the first answers null: there is nothing to compare with). A call so soon after the last that no clock tick
/// passed answers the last figure again and keeps the older baseline. Thread-safe.
/// </summary>
public sealed class CpuUsageSampler(string path = "/proc/stat")
{
    private readonly Lock _lock = new();
    private CpuTimes? _previous;
    private double? _last;

    /// <summary>The busy percentage since the last call; null on the first call or without /proc.</summary>
    public double? Sample()
    {
        var now = CpuTimes.Read(path);
        lock (_lock)
        {
            if (now is null)
            {
                return null;
            }

            if (_previous is null || now.Total < _previous.Total)
            {
                _previous = now;
                return null;
            }

            if (now.Total == _previous.Total)
            {
                return _last;
            }

            _last = now.PercentSince(_previous);
            _previous = now;
            return _last;
        }
    }
}

/// <summary>The 1, 5 and 15 minute load averages of /proc/loadavg.</summary>
public sealed record LoadAverage(double One, double Five, double Fifteen)
{
    /// <summary>Parses <c>0.52 0.58 0.59 2/1234 5678</c>; null when the first three fields are not numbers.</summary>
    public static LoadAverage? Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 3)
        {
            return null;
        }

        var values = new double[3];
        for (var i = 0; i < 3; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out values[i]))
            {
                return null;
            }
        }

        return new LoadAverage(values[0], values[1], values[2]);
    }

    /// <summary>Reads /proc/loadavg; null where it cannot be read or parsed.</summary>
    public static LoadAverage? Read(string path = "/proc/loadavg") => ProcText.Read(path) is { } text ? Parse(text) : null;

    /// <summary>The three figures as a list, 1 minute first.</summary>
    public IReadOnlyList<double> ToList() => [One, Five, Fifteen];
}

/// <summary>Total and free bytes of the file system holding a directory.</summary>
/// <param name="Path">The directory asked about.</param>
/// <param name="TotalBytes">Size of its file system.</param>
/// <param name="FreeBytes">Bytes available to this process (statvfs <c>f_bavail</c>).</param>
public sealed record DiskSpace(string Path, long TotalBytes, long FreeBytes)
{
    /// <summary>The file system of <paramref name="path"/> (its nearest existing ancestor); null where it cannot be read.</summary>
    public static DiskSpace? Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            var existing = System.IO.Path.GetFullPath(path);
            while (!Directory.Exists(existing))
            {
                var parent = System.IO.Path.GetDirectoryName(existing);
                if (parent is null)
                {
                    return null;
                }

                existing = parent;
            }

            // On Unix DriveInfo asks statvfs about the path it is given, whatever mount it is on.
            var drive = new DriveInfo(existing);
            return drive.TotalSize > 0 ? new DiskSpace(path, drive.TotalSize, drive.AvailableFreeSpace) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}

/// <summary>One reading of a machine: CPU, memory, load and the disks asked about. Any figure may be null (no /proc).</summary>
public sealed record HostFigures
{
    /// <summary>Busy CPU percentage since the previous reading.</summary>
    public double? CpuPercent { get; init; }

    /// <summary>Memory in use (total minus available), MB.</summary>
    public double? MemoryUsedMb { get; init; }

    /// <summary>Total memory, MB.</summary>
    public double? MemoryTotalMb { get; init; }

    /// <summary>1, 5 and 15 minute load averages.</summary>
    public LoadAverage? Load { get; init; }

    /// <summary>The file systems read, in the order asked.</summary>
    public IReadOnlyList<DiskSpace> Disks { get; init; } = [];

    /// <summary>Reads memory, load and the disks of <paramref name="diskPaths"/> now, and the CPU from <paramref name="cpu"/>.</summary>
    public static HostFigures Read(CpuUsageSampler cpu, params string[] diskPaths)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        ArgumentNullException.ThrowIfNull(diskPaths);
        var memory = Runner.HostMemory.Read();
        return new HostFigures
        {
            CpuPercent = cpu.Sample(),
            MemoryUsedMb = memory?.UsedMb,
            MemoryTotalMb = memory?.TotalMb,
            Load = LoadAverage.Read(),
            Disks = diskPaths.Distinct(StringComparer.Ordinal).Select(DiskSpace.Read).OfType<DiskSpace>().ToList(),
        };
    }
}

/// <summary>Reads small /proc files without throwing.</summary>
internal static class ProcText
{
    public static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
