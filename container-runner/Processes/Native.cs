using System.Runtime.InteropServices;

namespace EnvFabric.Runner.Processes;

/// <summary>The few libc calls .NET does not expose: signals to a process group.</summary>
internal static partial class Native
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    /// <summary>kill(2); a negative pid addresses the process group.</summary>
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);

    private const int ScClkTck = 2;
    private const int ScPageSize = 30;

    public static readonly long ClockTicks = Math.Max(1, SysConf(ScClkTck));

    public static readonly long PageSize = Math.Max(1, SysConf(ScPageSize));
}
