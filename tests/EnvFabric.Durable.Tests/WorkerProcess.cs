using System.Diagnostics;

namespace EnvFabric.Durable.Tests;

/// <summary>The test worker in a child process, killed with SIGKILL (no graceful shutdown, no lease release).</summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WorkerProcess(Process process)
    {
        _process = process;
    }

    public static async Task<WorkerProcess> StartAsync(string storage, string hub, string effectsFile)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "EnvFabric.Durable.TestWorker.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { dll, storage, hub, effectsFile })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("test worker did not start");
        var worker = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data == "ready")
            {
                worker._ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await worker._ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return worker;
    }

    public int Id => _process.Id;

    /// <summary>SIGKILL: the process dies at whatever point it is.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
