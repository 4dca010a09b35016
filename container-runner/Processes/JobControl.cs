namespace EnvFabric.Runner.Processes;

/// <summary>
/// Control state of one job: the process group currently running, paused or not, stop requested or not. A
/// job's successive processes (an environment build runs several) all inherit the state.
/// </summary>
public sealed class JobControl : IDisposable
{
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private ProcessGroup? _current;

    public bool Paused { get; private set; }

    public bool StopRequested => _stop.IsCancellationRequested;

    public CancellationToken StopToken => _stop.Token;

    public void Pause()
    {
        lock (_gate)
        {
            Paused = true;
            _current?.Signal(Native.SigStop);
        }
    }

    public void Resume()
    {
        lock (_gate)
        {
            Paused = false;
            _current?.Signal(Native.SigCont);
        }
    }

    public void Stop()
    {
        lock (_gate)
        {
            // A stopped group only acts on SIGTERM once continued.
            Paused = false;
        }

        _stop.Cancel();
    }

    internal void Attach(ProcessGroup group)
    {
        lock (_gate)
        {
            _current = group;
            if (Paused)
            {
                group.Signal(Native.SigStop);
            }
        }
    }

    /// <summary>
    /// The CPU throttle's stop phase: SIGSTOP to the group while it is the current one and no stop was requested (a
    /// stopping group must go on to act on its SIGTERM).
    /// </summary>
    internal void ThrottleStop(ProcessGroup group)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_current, group) && !StopRequested)
            {
                group.SignalGroup(Native.SigStop);
            }
        }
    }

    /// <summary>The CPU throttle's run phase: SIGCONT to the group unless the job is paused (a paused run stays stopped).</summary>
    internal void ThrottleContinue(ProcessGroup group)
    {
        lock (_gate)
        {
            if (!Paused)
            {
                group.SignalGroup(Native.SigCont);
            }
        }
    }

    internal void Detach(ProcessGroup group)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_current, group))
            {
                _current = null;
            }
        }
    }

    public void Dispose() => _stop.Dispose();
}
