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
