using System.Diagnostics;
using System.Text;
using EnvFabric.Core.Runner;
using EnvFabric.Runner.Logs;

namespace EnvFabric.Runner.Processes;

/// <summary>
/// The real <see cref="IProcessRunner"/> of one job: starts each process under <c>job-reaper.py</c> (a new
/// session and process group, so signals reach the whole tree; the kernel's peak RSS and CPU time of the process
/// at its exit), pumps stdout and stderr into the job log as they come, samples the tree's memory and CPU while it
/// runs, enforces the timeout (SIGTERM, grace, SIGKILL to the group), the run's quota (<see cref="QuotaEnforcer"/>)
/// and applies the job's stop, pause and resume.
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
        var quota = spec.Quota is { Any: true } q ? q : null;
        var cores = quota?.Cores is { } count ? settings.Cores.Take(count) : null;
        if (quota is not null)
        {
            log.WriteLine("[envfabric] quota: " + Describe(quota, cores));
        }

        foreach (var arg in JobReaper.Arguments(settings.ReaperScript, report, spec.Argv, cores, quota?.AddressSpaceLimitBytes))
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
        var enforcer = quota is null ? null : QuotaEnforcer.Start(quota, group, control, metrics, settings.QuotaSampleInterval);
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

                // The throttle ends first (continuing the group), so the tree can act on its SIGTERM.
                if (enforcer is not null)
                {
                    await enforcer.StopAsync();
                }

                await group.TerminateAsync(settings.StopGrace);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }

        var exitedAt = time.GetUtcNow();
        LastExitedAt = exitedAt;
        if (enforcer is not null)
        {
            await enforcer.StopAsync();
        }

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
        var quotaError = quota?.MemoryLimitMb is { } limitMb && enforcer is not null && !timedOut && !cancelled
            ? MemoryQuotaError(quota, limitMb, enforcer, reaped, exitCode, _stderrTail.ToString())
            : null;
        if (quotaError is not null)
        {
            log.WriteLine("[envfabric] " + quotaError);
        }

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
            QuotaError = quotaError,
        };
    }

    /// <summary>
    /// The reason of a run over its memory quota, or null: the enforcer killed it, the kernel's peak of the job
    /// process (ru_maxrss, which catches a burst between two samples) is above the quota, or it failed with an
    /// allocation error under its address-space limit (MemoryError, ENOMEM, bad_alloc on stderr).
    /// </summary>
    private static string? MemoryQuotaError(RunQuota quota, long limitMb, QuotaEnforcer enforcer, ReaperReport? reaped, int exitCode, string stderr)
    {
        var peakMb = Math.Max(enforcer.PeakMemoryMb, (reaped?.MaxRssBytes ?? 0) / (1024.0 * 1024.0));
        if (enforcer.MemoryExceeded || peakMb > limitMb)
        {
            return RunQuota.MemoryExceeded(peakMb, limitMb);
        }

        var allocationFailed = exitCode != 0
            && (stderr.Contains("MemoryError", StringComparison.Ordinal)
                || stderr.Contains("Cannot allocate memory", StringComparison.Ordinal)
                || stderr.Contains("std::bad_alloc", StringComparison.Ordinal));
        return allocationFailed
            ? RunQuota.MemoryExceeded(peakMb, limitMb) + $" (an allocation failed under the run's address-space limit of {quota.AddressSpaceLimitBytes / (1024 * 1024)} MiB)"
            : null;
    }

    private static string Describe(RunQuota quota, IReadOnlyList<int>? cores)
    {
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        var parts = new List<string>();
        if (quota.MemoryLimitMb is { } mb)
        {
            parts.Add(string.Create(invariant, $"memory {mb} MiB (address space {quota.AddressSpaceLimitBytes / (1024 * 1024)} MiB)"));
        }

        if (quota.CpuLimit is { } cpu)
        {
            parts.Add(string.Create(invariant, $"cpu {cpu:0.###} on core(s) {string.Join(',', cores ?? [])}")
                + (quota.DutyCycle is { } duty ? string.Create(invariant, $", running {duty * 100:0.#}% of each {QuotaEnforcer.ThrottlePeriod.TotalMilliseconds:0} ms") : ""));
        }

        return string.Join("; ", parts);
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

    /// <summary>The cores runs with a CPU quota are pinned to, round-robin (shared by every copy of these settings).</summary>
    public CoreAllocator Cores { get; init; } = CoreAllocator.ForThisProcess();

    /// <summary>How often the resident memory of a run with a memory quota is read.</summary>
    public TimeSpan QuotaSampleInterval { get; init; } = TimeSpan.FromMilliseconds(100);

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
