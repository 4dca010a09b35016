using System.Diagnostics;
using System.Text;
using EnvFabric.Core.Runner;
using EnvFabric.Runner.Logs;

namespace EnvFabric.Runner.Processes;

/// <summary>
/// The real <see cref="IProcessRunner"/> of one job: starts each process under <c>job-reaper.py</c> (a new
/// session and process group, so signals reach the whole tree; the kernel's peak RSS and CPU time of the process
/// at its exit), pumps stdout and stderr into the job log as they come, samples the tree's memory and CPU while it
/// runs, enforces the timeout (SIGTERM, grace, SIGKILL to the group) and applies the job's stop, pause and resume.
/// </summary>
public sealed class SupervisedProcessRunner(
    JobLogWriter log,
    JobControl control,
    JobMetrics metrics,
    ProcessSampler sampler,
    ProcessRunnerSettings settings,
    TimeProvider time) : IProcessRunner
{
    private const int CaptureLimit = 32 * 1024 * 1024;

    /// <summary>Called once, when the job's first process has started (with its pid and start time).</summary>
    public Action<int, DateTimeOffset>? FirstProcessStarted { get; set; }

    public DateTimeOffset? FirstStartedAt { get; private set; }

    /// <summary>Whether a stop was requested for the job.</summary>
    public bool StopRequested => control.StopRequested;

    public DateTimeOffset? LastExitedAt { get; private set; }

    public string StdoutTail => _stdoutTail.ToString();

    public string StderrTail => _stderrTail.ToString();

    private readonly TailBuffer _stdoutTail = new(settings.TailBytes);
    private readonly TailBuffer _stderrTail = new(settings.TailBytes);

    public async Task<ProcessOutcome> RunAsync(ProcessSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        log.WriteLine("$ " + (spec.Display ?? CommandLine.Join(spec.Argv)));
        var report = Path.Combine(settings.ReportDirectory, $"envfabric-reaper-{Guid.NewGuid():N}");
        var start = new ProcessStartInfo(settings.ReaperPython)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = spec.WorkingDirectory ?? Environment.CurrentDirectory,
        };

        // The reaper leads a new session and process group and forks the program, looking argv[0] up on the PATH
        // given below (the environment's bin directory first), as setsid's execvp did.
        foreach (var arg in JobReaper.Arguments(settings.ReaperScript, report, spec.Argv))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Clear();
        foreach (var (key, value) in settings.BaseEnvironment)
        {
            start.Environment[key] = value;
        }

        foreach (var (key, value) in spec.Environment)
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }

        using var process = new Process { StartInfo = start };
        if (control.StopRequested)
        {
            return new ProcessOutcome { ExitCode = -1, Cancelled = true, StartedAt = time.GetUtcNow(), ExitedAt = time.GetUtcNow() };
        }

        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            log.WriteLine("[envfabric] could not start the process: " + ex.Message);
            var now = time.GetUtcNow();
            return new ProcessOutcome { ExitCode = -1, Stderr = ex.Message, StartedAt = now, ExitedAt = now };
        }

        var startedAt = time.GetUtcNow();
        process.StandardInput.Close();
        var group = new ProcessGroup(process.Id, ownGroup: true);
        control.Attach(group);
        sampler.Watch(group, metrics);
        if (FirstStartedAt is null)
        {
            FirstStartedAt = startedAt;
            FirstProcessStarted?.Invoke(process.Id, startedAt);
        }

        var stdoutCapture = spec.CaptureOutput ? new MemoryStream() : null;
        var stderrCapture = spec.CaptureOutput ? new MemoryStream() : null;
        var pumps = Task.WhenAll(
            PumpAsync(process.StandardOutput.BaseStream, _stdoutTail, stdoutCapture),
            PumpAsync(process.StandardError.BaseStream, _stderrTail, stderrCapture));

        var timedOut = false;
        var cancelled = false;
        using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, control.StopToken))
        {
            if (spec.Timeout is { } timeout)
            {
                limit.CancelAfter(timeout);
            }

            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                cancelled = control.StopRequested || cancellationToken.IsCancellationRequested;
                timedOut = !cancelled;
                log.WriteLine(timedOut
                    ? $"[envfabric] timed out after {spec.Timeout!.Value.TotalSeconds:0.###} s: terminating the process tree"
                    : "[envfabric] stop requested: terminating the process tree");
                await group.TerminateAsync(settings.StopGrace);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }

        var exitedAt = time.GetUtcNow();
        LastExitedAt = exitedAt;

        // The job is its root process: whatever it left running in its group (and so holding the pipes) ends with it.
        if (group.GroupExists())
        {
            group.Signal(Native.SigKill);
        }

        sampler.Unwatch(group);
        control.Detach(group);

        // Written by the reaper before it exited; missing when the reaper itself was killed (SIGKILL to the group).
        var reaped = ReaperReport.ReadAndDelete(report);
        metrics.ProcessEnded(reaped);
        await Task.WhenAny(pumps, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None));

        var exitCode = process.ExitCode;
        return new ProcessOutcome
        {
            ExitCode = exitCode,
            CommandNotFound = reaped?.CommandNotFound ?? false,
            TimedOut = timedOut,
            Cancelled = cancelled,
            Stdout = stdoutCapture is null ? _stdoutTail.ToString() : Decode(stdoutCapture),
            Stderr = stderrCapture is null ? _stderrTail.ToString() : Decode(stderrCapture),
            ProcessId = process.Id,
            StartedAt = startedAt,
            ExitedAt = exitedAt,
        };
    }

    private async Task PumpAsync(Stream stream, TailBuffer tail, MemoryStream? capture)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                var chunk = buffer.AsSpan(0, read);
                log.Write(chunk);
                tail.Append(chunk);
                if (capture is not null && capture.Length < CaptureLimit)
                {
                    capture.Write(chunk);
                }
            }
        }
        catch (IOException)
        {
            // The pipe broke when the tree was killed: the output so far is kept.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static string Decode(MemoryStream stream) => Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
}

/// <summary>Runner-wide process settings.</summary>
public sealed record ProcessRunnerSettings
{
    /// <summary>The python3 that runs <c>job-reaper.py</c> (a real interpreter with its standard library, not a pyenv shim).</summary>
    public required string ReaperPython { get; init; }

    /// <summary>job-reaper.py, published beside the runner's assembly.</summary>
    public string ReaperScript { get; init; } = Path.Combine(AppContext.BaseDirectory, JobReaper.ScriptName);

    /// <summary>Where reapers leave their reports: one small file per process, deleted once read.</summary>
    public string ReportDirectory { get; init; } = Path.GetTempPath();

    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(5);

    public int TailBytes { get; init; } = 16 * 1024;

    /// <summary>The environment every job process starts from (an allow-list of the runner's own: no storage secrets).</summary>
    public IReadOnlyDictionary<string, string> BaseEnvironment { get; init; } = new Dictionary<string, string>();
}

/// <summary>The last N bytes of a stream, decoded on demand.</summary>
internal sealed class TailBuffer(int capacity)
{
    private readonly Lock _gate = new();
    private readonly byte[] _ring = new byte[Math.Max(1, capacity)];
    private long _total;

    public void Append(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            if (data.Length >= _ring.Length)
            {
                data[^_ring.Length..].CopyTo(_ring);
                _total += data.Length;
                var shift = (int)(_total % _ring.Length);
                if (shift != 0)
                {
                    // Keep the ring's invariant: position of the next byte is _total % length.
                    var copy = _ring.ToArray();
                    for (var i = 0; i < _ring.Length; i++)
                    {
                        _ring[(i + shift) % _ring.Length] = copy[i];
                    }
                }

                return;
            }

            foreach (var b in data)
            {
                _ring[(int)(_total % _ring.Length)] = b;
                _total++;
            }
        }
    }

    public override string ToString()
    {
        lock (_gate)
        {
            byte[] bytes;
            if (_total <= _ring.Length)
            {
                bytes = _ring[..(int)_total];
            }
            else
            {
                var start = (int)(_total % _ring.Length);
                bytes = [.. _ring[start..], .. _ring[..start]];
            }

            // Skip a partial character at the cut.
            var skip = 0;
            while (skip < bytes.Length && skip < 3 && (bytes[skip] & 0xC0) == 0x80 && _total > _ring.Length)
            {
                skip++;
            }

            return Encoding.UTF8.GetString(bytes, skip, bytes.Length - skip);
        }
    }
}
