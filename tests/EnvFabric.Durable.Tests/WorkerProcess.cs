using System.Collections.Concurrent;
using System.Diagnostics;

namespace EnvFabric.Durable.Tests;

/// <summary>The test worker in a child process, killed with SIGKILL (no graceful shutdown, no lease release).</summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<string> _errors = new();

    private WorkerProcess(Process process)
    {
        _process = process;
    }

    /// <summary>The worker id it reported (its name in the partition lease table).</summary>
    public string WorkerId { get; private set; } = "";

    public int Id => _process.Id;

    public string Errors => string.Join('\n', _errors);

    public static async Task<WorkerProcess> StartAsync(string storage, string hub, string effectsTable, int leaseSeconds = 30)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "EnvFabric.Durable.TestWorker.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { dll, storage, hub, effectsTable, leaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("test worker did not start");
        var worker = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("ready ", StringComparison.Ordinal) == true)
            {
                worker._ready.TrySetResult(e.Data["ready ".Length..]);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null && worker._errors.Count < 200)
            {
                worker._errors.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            worker.WorkerId = await worker._ready.Task.WaitAsync(TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            worker.Dispose();
            throw new TimeoutException("the test worker did not report ready: " + worker.Errors);
        }

        return worker;
    }

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
