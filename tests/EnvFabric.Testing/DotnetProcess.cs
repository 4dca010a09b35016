using System.Diagnostics;

namespace EnvFabric.Testing;

/// <summary>The host or the runner as a real child process (<c>dotnet X.dll</c>), as <c>./run</c> starts them.</summary>
public static class DotnetProcess
{
    /// <summary>
    /// Starts <paramref name="dll"/> (beside the calling assembly) with <paramref name="environment"/> added to its
    /// environment; its output is read (so it never blocks on a full pipe) and each stderr line handed to
    /// <paramref name="stderr"/> when given.
    /// </summary>
    public static Process Start(string dll, IReadOnlyDictionary<string, string> environment, string workingDirectory, Action<string>? stderr = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException(dll + " did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data))
            {
                stderr?.Invoke(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>SIGKILL to the process and its children (no shutdown code runs), then waits up to 10 s for it.</summary>
    public static void Kill(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
    }
}
