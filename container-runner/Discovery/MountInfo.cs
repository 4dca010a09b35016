using System.Globalization;
using System.Text;

namespace EnvFabric.Runner.Discovery;

/// <summary>A mount from /proc/self/mountinfo.</summary>
public sealed record Mount(int MountId, string Device, string MountPoint, string FileSystemType);

/// <summary>
/// Which mount a path lives on. uv hardlinks from its cache into environments only within one mount (link(2)
/// returns EXDEV across mount points even on one device), so the check compares mounts, not devices.
/// </summary>
public static class MountInfo
{
    public static IReadOnlyList<Mount> Parse(string mountinfo)
    {
        ArgumentNullException.ThrowIfNull(mountinfo);
        var mounts = new List<Mount>();
        foreach (var line in mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            var dash = Array.IndexOf(fields, "-");
            if (fields.Length < 10 || dash < 6 || dash + 2 >= fields.Length)
            {
                continue;
            }

            mounts.Add(new Mount(int.Parse(fields[0], CultureInfo.InvariantCulture), fields[2], Unescape(fields[4]), fields[dash + 1]));
        }

        return mounts;
    }

    /// <summary>The mount holding <paramref name="path"/> (the deepest mount point that is a prefix of it).</summary>
    public static Mount? Find(IReadOnlyList<Mount> mounts, string path)
    {
        ArgumentNullException.ThrowIfNull(mounts);
        var full = Path.GetFullPath(path);
        Mount? best = null;
        foreach (var m in mounts)
        {
            var point = m.MountPoint == "/" ? "/" : m.MountPoint.TrimEnd('/');
            var under = point == "/" || full == point || full.StartsWith(point + "/", StringComparison.Ordinal);
            if (under && (best is null || point.Length >= best.MountPoint.TrimEnd('/').Length))
            {
                best = m;
            }
        }

        return best;
    }

    /// <summary>A warning when <paramref name="cache"/> and <paramref name="envs"/> are on different mounts; null when they share one.</summary>
    public static string? SameMountWarning(IReadOnlyList<Mount> mounts, string cache, string envs)
    {
        var a = Find(mounts, ResolveExisting(cache));
        var b = Find(mounts, ResolveExisting(envs));
        if (a is null || b is null || a.MountId == b.MountId)
        {
            return null;
        }

        return $"UV_CACHE_DIR ({cache}, mount {a.MountPoint} {a.FileSystemType}) and ENVS_BASE_PATH ({envs}, mount {b.MountPoint} {b.FileSystemType}) are on different file systems: uv cannot hardlink and falls back to full copies";
    }

    /// <summary>Reads this process's mount table.</summary>
    public static IReadOnlyList<Mount> Current()
    {
        try
        {
            return Parse(File.ReadAllText("/proc/self/mountinfo"));
        }
        catch (IOException)
        {
            return [];
        }
    }

    private static string ResolveExisting(string path)
    {
        // Resolve symlinks of the nearest existing ancestor: the mount is where the data really goes.
        var full = Path.GetFullPath(path);
        var probe = full;
        while (!Directory.Exists(probe) && Path.GetDirectoryName(probe) is { } parent)
        {
            probe = parent;
        }

        try
        {
            var target = new DirectoryInfo(probe).ResolveLinkTarget(returnFinalTarget: true);
            return target is null ? full : Path.Join(target.FullName, Path.GetRelativePath(probe, full));
        }
        catch (IOException)
        {
            return full;
        }
    }

    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var sb = new StringBuilder();
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && field.Substring(i + 1, 3).All(c => c is >= '0' and <= '7'))
            {
                sb.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                sb.Append(field[i]);
            }
        }

        return sb.ToString();
    }
}
