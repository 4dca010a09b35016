using System.Globalization;

namespace EnvFabric.Runner.Processes;

/// <summary>One process as /proc/[pid]/stat describes it.</summary>
internal readonly record struct ProcStat(int Pid, int ParentPid, int ProcessGroup, char State, long CpuTicks, long RssBytes);

/// <summary>Reads /proc: the process tree of a job, its resident memory and CPU time.</summary>
internal static class ProcFs
{
    /// <summary>Parses /proc/[pid]/stat; null when the process is gone.</summary>
    public static ProcStat? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        return Parse(pid, text);
    }

    /// <summary>Parses a stat line; the command name is in parentheses and may contain spaces, so fields count from the last ')'.</summary>
    public static ProcStat? Parse(int pid, string text)
    {
        var close = text.LastIndexOf(')');
        if (close < 0 || close + 2 >= text.Length)
        {
            return null;
        }

        var fields = text[(close + 2)..].Split(' ');
        if (fields.Length < 22)
        {
            return null;
        }

        // fields[0] is field 3 (state); utime 14, stime 15, cutime 16, cstime 17, rss 24.
        static long F(string[] f, int field) => long.Parse(f[field - 3], CultureInfo.InvariantCulture);
        var cpu = F(fields, 14) + F(fields, 15) + F(fields, 16) + F(fields, 17);
        return new ProcStat(pid, (int)F(fields, 4), (int)F(fields, 5), fields[0][0], cpu, F(fields, 24) * Native.PageSize);
    }

    /// <summary>Peak resident set (VmHWM) of one process in bytes, or 0.</summary>
    public static long ReadPeakRss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
    }

    /// <summary>
    /// The processes of a job: the root, every descendant of it, and every member of its process group (a
    /// daemonized grandchild is reparented to init but keeps the group).
    /// </summary>
    public static List<ProcStat> Tree(int rootPid, int processGroup) => Tree(All(), rootPid, processGroup);

    /// <summary>Every process of the machine (one scan of /proc).</summary>
    public static List<ProcStat> All()
    {
        var all = new List<ProcStat>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(dir);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0]) || !int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            if (ReadStat(pid) is { } stat)
            {
                all.Add(stat);
            }
        }

        return all;
    }

    /// <summary>The job's processes among <paramref name="all"/>.</summary>
    public static List<ProcStat> Tree(List<ProcStat> all, int rootPid, int processGroup)
    {
        var members = new HashSet<int> { rootPid };
        foreach (var s in all)
        {
            if (processGroup > 0 && s.ProcessGroup == processGroup)
            {
                members.Add(s.Pid);
            }
        }

        // Descendants that moved to another group (setsid, setpgid) are still the job's: follow parent links.
        bool grew;
        do
        {
            grew = false;
            foreach (var s in all)
            {
                if (!members.Contains(s.Pid) && members.Contains(s.ParentPid))
                {
                    members.Add(s.Pid);
                    grew = true;
                }
            }
        }
        while (grew);

        return all.Where(s => members.Contains(s.Pid)).ToList();
    }
}
