using System.Diagnostics;
using System.Globalization;

namespace EnvFabric.Runner.Processes;

/// <summary>
/// <c>job-reaper.py</c>, the parent of every job process. .NET's Process reaps its own children, so the runner
/// cannot wait4() a job and read the kernel's rusage of it; the reaper can. It leads the job's session and
/// process group (as <c>setsid</c> did before it), waits for the job and leaves its peak RSS and CPU time in a
/// report file, then exits as the job did (same code, or the same signal).
/// </summary>
internal static class JobReaper
{
    public const string ScriptName = "job-reaper.py";

    private static readonly string[] ProbeArguments = ["-I", "-S", "-c", "import os, resource; os.wait4"];

    /// <summary>
    /// The first <c>python3</c> on PATH that can run the reaper. pyenv's shims are skipped: each one starts bash
    /// and pyenv first, ~30 ms more at every job start.
    /// </summary>
    public static string? FindInterpreter(string pathVariable)
    {
        foreach (var dir in (pathVariable ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "python3");
            if (!dir.Contains("/shims", StringComparison.Ordinal) && File.Exists(candidate) && CanRun(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The reaper's arguments before the job's argv: isolated (no PYTHON* variables, no script directory) and without site, the fastest start.</summary>
    public static IEnumerable<string> Arguments(string script, string reportPath, IReadOnlyList<string> argv) =>
        Arguments(script, reportPath, argv, cores: null, addressSpaceBytes: null);

    /// <summary>
    /// The same with a run's quota: the cores the job is pinned to and its address-space limit, both applied by the
    /// reaper's child before exec.
    /// </summary>
    public static IEnumerable<string> Arguments(string script, string reportPath, IReadOnlyList<string> argv, IReadOnlyList<int>? cores, long? addressSpaceBytes)
    {
        var invariant = CultureInfo.InvariantCulture;
        string[] limits =
        [
            .. cores is { Count: > 0 } ? new[] { "--cpus", string.Join(',', cores.Select(c => c.ToString(invariant))) } : [],
            .. addressSpaceBytes is { } bytes ? new[] { "--rlimit-as", bytes.ToString(invariant) } : [],
        ];
        return ["-I", "-S", script, .. limits, reportPath, .. argv];
    }

    /// <summary>python3-minimal has no <c>resource</c>, which os.wait4 needs.</summary>
    private static bool CanRun(string python)
    {
        var start = new ProcessStartInfo(python) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in ProbeArguments)
        {
            start.ArgumentList.Add(arg);
        }

        try
        {
            using var probe = Process.Start(start)!;
            _ = probe.StandardOutput.ReadToEndAsync();
            _ = probe.StandardError.ReadToEndAsync();
            if (!probe.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                probe.Kill();
                return false;
            }

            return probe.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}

/// <summary>
/// What <c>job-reaper.py</c> wrote about one job process when it ended: the kernel's rusage of the process and
/// of every descendant it waited for (ru_maxrss is the largest of them, not a sum), the raw wait status, and
/// the errno of a failed exec (0 when the program ran).
/// </summary>
internal sealed record ReaperReport(long MaxRssBytes, double CpuSeconds, int WaitStatus, int ExecErrno)
{
    private const int ENoEnt = 2;

    public bool CommandNotFound => ExecErrno == ENoEnt;

    /// <summary>Reads and deletes a report; null when there is none (the reaper was killed, SIGKILL to the group).</summary>
    public static ReaperReport? ReadAndDelete(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
            File.Delete(path);
        }
        catch (IOException)
        {
            return null;
        }

        return Parse(text);
    }

    /// <summary>Parses <c>maxrss_kb=N cpu_seconds=S status=N exec_errno=N</c>; null when a field is missing or malformed.</summary>
    public static ReaperReport? Parse(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in (text ?? "").Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                fields[pair[..eq]] = pair[(eq + 1)..];
            }
        }

        const NumberStyles Integer = NumberStyles.Integer;
        var invariant = CultureInfo.InvariantCulture;
        return fields.TryGetValue("maxrss_kb", out var rss) && long.TryParse(rss, Integer, invariant, out var rssKb)
            && fields.TryGetValue("cpu_seconds", out var cpu) && double.TryParse(cpu, NumberStyles.Float, invariant, out var cpuSeconds)
            && fields.TryGetValue("status", out var status) && int.TryParse(status, Integer, invariant, out var waitStatus)
            && fields.TryGetValue("exec_errno", out var errno) && int.TryParse(errno, Integer, invariant, out var execErrno)
            ? new ReaperReport(rssKb * 1024, cpuSeconds, waitStatus, execErrno)
            : null;
    }
}
