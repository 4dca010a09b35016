namespace EnvFabric.Runner.Processes;

/// <summary>
/// A job process under <c>job-reaper.py</c>, which leads its own session and process group, so one signal reaches
/// the reaper and the whole tree (the reaper ignores SIGTERM and lives until the job ends, then exits as it did;
/// SIGSTOP, SIGCONT and SIGKILL act on it like on the job). Descendants that left the group are found through
/// /proc and signalled too.
/// </summary>
internal sealed class ProcessGroup(int pid, bool ownGroup)
{
    /// <summary>The reaper's pid: the root of the tree, not part of the job's own figures.</summary>
    public int Pid { get; } = pid;

    /// <summary>The group id when the process leads its own group, else 0 (signals then go to the tree only).</summary>
    public int GroupId { get; } = ownGroup ? pid : 0;

    public void Signal(int signal)
    {
        if (GroupId > 0)
        {
            Native.Kill(-GroupId, signal);
        }

        foreach (var p in ProcFs.Tree(Pid, GroupId))
        {
            if (GroupId == 0 || p.ProcessGroup != GroupId)
            {
                Native.Kill(p.Pid, signal);
            }
        }
    }

    /// <summary>A signal to the process group only (no /proc scan), for the CPU throttle's many signals a second.</summary>
    public void SignalGroup(int signal)
    {
        if (GroupId > 0)
        {
            Native.Kill(-GroupId, signal);
        }
    }

    /// <summary>Cheap check (no /proc scan): does any process of the group still exist?</summary>
    public bool GroupExists() => GroupId > 0 && Native.Kill(-GroupId, 0) == 0;

    /// <summary>True while any process of the tree or group is alive (zombies excluded).</summary>
    public bool AnyAlive() => ProcFs.Tree(Pid, GroupId).Any(p => p.State != 'Z');

    /// <summary>SIGTERM to the tree (continuing it if stopped), then SIGKILL to whatever is left after <paramref name="grace"/>.</summary>
    public async Task TerminateAsync(TimeSpan grace)
    {
        Signal(Native.SigTerm);
        Signal(Native.SigCont);
        var deadline = DateTime.UtcNow + grace;
        while (DateTime.UtcNow < deadline && AnyAlive())
        {
            await Task.Delay(50);
        }

        if (AnyAlive())
        {
            Signal(Native.SigKill);
        }
    }
}
