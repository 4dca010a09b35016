namespace EnvFabric.Runner.Processes;

/// <summary>A process to run: an argv vector (never a shell line), where, with which environment, for how long.</summary>
public sealed record ProcessSpec
{
    public ProcessSpec(IReadOnlyList<string> argv)
    {
        ArgumentNullException.ThrowIfNull(argv);
        if (argv.Count == 0 || string.IsNullOrEmpty(argv[0]))
        {
            throw new ArgumentException("argv needs a program", nameof(argv));
        }

        Argv = argv;
    }

    public IReadOnlyList<string> Argv { get; }

    public string? WorkingDirectory { get; init; }

    /// <summary>Variables added to the runner's base environment; a null value removes one.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>Killed (whole tree) after this long; null means no limit.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Keep stdout and stderr in full (bounded) in the outcome, for parsing.</summary>
    public bool CaptureOutput { get; init; }

    /// <summary>Written to the job log before the process starts; null logs the argv.</summary>
    public string? Display { get; init; }

    /// <summary>The run's memory and CPU quota, enforced on the process tree; null for none.</summary>
    public RunQuota? Quota { get; init; }
}

/// <summary>How a process ended.</summary>
public sealed record ProcessOutcome
{
    /// <summary>Exit code; 128+signal when a signal ended it; -1 when it could not start.</summary>
    public int ExitCode { get; init; }

    /// <summary>The program was not found on the PATH (exit code 127).</summary>
    public bool CommandNotFound { get; init; }

    public bool TimedOut { get; init; }

    public bool Cancelled { get; init; }

    /// <summary>Full output when <see cref="ProcessSpec.CaptureOutput"/>, otherwise the tail.</summary>
    public string Stdout { get; init; } = "";

    public string Stderr { get; init; } = "";

    public int ProcessId { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset ExitedAt { get; init; }

    /// <summary>
    /// Set when the run went over its memory quota (killed for it, a kernel peak above it, or an allocation that
    /// failed under its address-space limit): the failure reason, <c>memory quota exceeded: …</c>.
    /// </summary>
    public string? QuotaError { get; init; }

    public bool Succeeded => ExitCode == 0 && !TimedOut && !Cancelled && QuotaError is null;

    /// <summary>The last non-empty lines of stderr (or stdout), for an error message.</summary>
    public string ErrorSummary(int lines = 5)
    {
        var source = string.IsNullOrWhiteSpace(Stderr) ? Stdout : Stderr;
        var tail = source.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(lines);
        var text = string.Join(" | ", tail);
        return text.Length == 0 ? $"exit code {ExitCode}" : text;
    }
}

/// <summary>
/// Runs processes for one job: output to the job's log, metrics into the job's totals, control (stop, pause,
/// resume) applied to the process group. Backends depend on this port only, so they are tested with Moq.
/// </summary>
public interface IProcessRunner
{
    Task<ProcessOutcome> RunAsync(ProcessSpec spec, CancellationToken cancellationToken);
}
