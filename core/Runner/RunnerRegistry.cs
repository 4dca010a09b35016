using Azure.Data.Tables;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Runner;

/// <summary>A tool the runner found at start.</summary>
public sealed record RunnerTool(string Name, string Path, string? Version);

/// <summary>A Python interpreter the runner can build venvs from.</summary>
public sealed record PythonInterpreter(string Version, string Path, string Source);

/// <summary>What a runner can do, published in the Runners table.</summary>
public sealed record RunnerCapabilities
{
    /// <summary>uv, micromamba, mamba, conda when found.</summary>
    public IReadOnlyList<RunnerTool> Tools { get; init; } = [];

    /// <summary>Interpreters on PATH and under pyenv.</summary>
    public IReadOnlyList<PythonInterpreter> Pythons { get; init; } = [];

    /// <summary>The backends this runner can serve.</summary>
    public IReadOnlyList<EnvironmentBackend> Backends { get; init; } = [];

    /// <summary>Python versions each backend offers (key: <c>uv</c>, <c>conda</c>, <c>venv</c>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> PythonVersions { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>The conda-family tool used (micromamba first, then mamba, then conda), or null.</summary>
    public string? CondaTool { get; init; }

    /// <summary>How the runner enforces run quotas (memory, CPU), shown in /api/health; null from a runner that does not say.</summary>
    public string? Quotas { get; init; }

    /// <summary>Configuration problems worth showing in /api/health (e.g. uv cache on another file system).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>The machine's memory from /proc/meminfo (Linux), in MB: total and in use (total minus available).</summary>
public static class HostMemory
{
    /// <summary>Reads /proc/meminfo; null where it cannot be read.</summary>
    public static (double TotalMb, double UsedMb)? Read(string path = "/proc/meminfo")
    {
        try
        {
            long total = -1, available = -1;
            foreach (var line in File.ReadLines(path))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var kb))
                {
                    if (parts[0] == "MemTotal:")
                    {
                        total = kb;
                    }
                    else if (parts[0] == "MemAvailable:")
                    {
                        available = kb;
                    }
                }
            }

            return total > 0 && available >= 0 ? (Math.Round(total / 1024.0, 1), Math.Round((total - available) / 1024.0, 1)) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>A runner as seen in the Runners table.</summary>
public sealed record RunnerInfo
{
    /// <summary>Unique per runner process.</summary>
    public required string RunnerId { get; init; }

    /// <summary>Machine name.</summary>
    public string? Host { get; init; }

    /// <summary>When the runner started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>Its last heartbeat.</summary>
    public DateTimeOffset LastHeartbeat { get; init; }

    /// <summary>Jobs running at the last heartbeat.</summary>
    public int ActiveJobs { get; init; }

    /// <summary>MAX_CONCURRENT_TASKS of that runner.</summary>
    public int MaxConcurrent { get; init; }

    /// <summary>Set when the runner shut down cleanly.</summary>
    public bool Stopped { get; init; }

    /// <summary>What it can do.</summary>
    public RunnerCapabilities Capabilities { get; init; } = new();

    /// <summary>The runner host's memory (MB) at the heartbeat, from /proc/meminfo; null where unknown.</summary>
    public double? MemoryTotalMb { get; init; }

    /// <summary>Memory in use on the runner's host (total minus available), MB.</summary>
    public double? MemoryUsedMb { get; init; }

    /// <summary>Busy CPU percentage of the runner's host between its last two heartbeats (/proc/stat); null where unknown.</summary>
    public double? CpuPercent { get; init; }

    /// <summary>The runner host's 1, 5 and 15 minute load averages (/proc/loadavg); null where unknown.</summary>
    public IReadOnlyList<double>? LoadAverage { get; init; }

    /// <summary>The file systems the runner works on: <c>share</c> (DATA_ROOT), <c>envs</c> (ENVS_BASE_PATH), <c>work</c> (its temp directory).</summary>
    public IReadOnlyList<RunnerDisk> Disks { get; init; } = [];

    /// <summary>The pool the runner serves (<c>RUNNER_POOL</c>).</summary>
    public string Pool { get; init; } = "default";

    /// <summary>CPU cores the runner may use (its affinity mask); null where unknown (rows of older runners).</summary>
    public int? Cores { get; init; }

    /// <summary>GPUs the runner offers to runs (<c>RUNNER_GPUS</c>); 0 = none.</summary>
    public int Gpus { get; init; }

    /// <summary>Alive: not stopped and heartbeat within <paramref name="staleAfter"/>.</summary>
    public bool IsAlive(DateTimeOffset now, TimeSpan staleAfter) => !Stopped && LastHeartbeat >= now - staleAfter;
}

/// <summary>A file system a runner reported: its role, the directory asked about, total and free bytes.</summary>
public sealed record RunnerDisk(string Role, string Path, long TotalBytes, long FreeBytes);

/// <summary>Reads and writes the Runners table.</summary>
public interface IRunnerRegistry
{
    /// <summary>Every runner row (alive or not).</summary>
    Task<IReadOnlyList<RunnerInfo>> GetRunnersAsync(CancellationToken cancellationToken = default);

    /// <summary>Runner side: writes (upserts) the runner's row.</summary>
    Task PublishAsync(RunnerInfo runner, CancellationToken cancellationToken = default);
}

/// <summary><see cref="IRunnerRegistry"/> on <see cref="RunnerStorage.RunnersTable"/>; partition <c>runner</c>, row = runner id.</summary>
public sealed class TableRunnerRegistry : IRunnerRegistry
{
    private const string Partition = "runner";
    private readonly TableClient _table;
    private readonly Lazy<Task> _created;

    /// <summary>Binds to the Runners table.</summary>
    public TableRunnerRegistry(StorageAccount storage, StorageNames names)
    {
        ArgumentNullException.ThrowIfNull(storage);
        _table = storage.Tables.GetTableClient(RunnerStorage.RunnersTable(names));
        _created = new Lazy<Task>(() => _table.CreateIfNotExistsAsync());
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RunnerInfo>> GetRunnersAsync(CancellationToken cancellationToken = default)
    {
        await _created.Value.WaitAsync(cancellationToken);
        var runners = new List<RunnerInfo>();
        await foreach (var e in _table.QueryAsync<TableEntity>(x => x.PartitionKey == Partition, cancellationToken: cancellationToken))
        {
            runners.Add(new RunnerInfo
            {
                RunnerId = e.RowKey,
                Host = e.GetString("Host"),
                StartedAt = e.GetDateTimeOffset("StartedAt") ?? default,
                LastHeartbeat = e.GetDateTimeOffset("LastHeartbeat") ?? default,
                ActiveJobs = e.GetInt32("ActiveJobs") ?? 0,
                MaxConcurrent = e.GetInt32("MaxConcurrent") ?? 0,
                Stopped = e.GetBoolean("Stopped") ?? false,
                Capabilities = e.GetString("Capabilities") is { Length: > 0 } json ? RunnerJson.Deserialize<RunnerCapabilities>(json) ?? new() : new(),
                MemoryTotalMb = e.GetDouble("MemoryTotalMb"),
                MemoryUsedMb = e.GetDouble("MemoryUsedMb"),
                CpuPercent = e.GetDouble("CpuPercent"),
                LoadAverage = e.GetString("LoadAverage") is { Length: > 0 } load ? RunnerJson.Deserialize<List<double>>(load) : null,
                Disks = e.GetString("Disks") is { Length: > 0 } disks ? RunnerJson.Deserialize<List<RunnerDisk>>(disks) ?? [] : [],
                Pool = e.GetString("Pool") ?? "default",
                Cores = e.GetInt32("Cores"),
                Gpus = e.GetInt32("Gpus") ?? 0,
            });
        }

        return runners;
    }

    /// <inheritdoc />
    public async Task PublishAsync(RunnerInfo runner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runner);
        await _created.Value.WaitAsync(cancellationToken);
        var entity = new TableEntity(Partition, runner.RunnerId)
        {
            ["Host"] = runner.Host,
            ["StartedAt"] = runner.StartedAt,
            ["LastHeartbeat"] = runner.LastHeartbeat,
            ["ActiveJobs"] = runner.ActiveJobs,
            ["MaxConcurrent"] = runner.MaxConcurrent,
            ["Stopped"] = runner.Stopped,
            ["Capabilities"] = RunnerJson.Serialize(runner.Capabilities),
            ["MemoryTotalMb"] = runner.MemoryTotalMb,
            ["MemoryUsedMb"] = runner.MemoryUsedMb,
            ["CpuPercent"] = runner.CpuPercent,
            ["LoadAverage"] = runner.LoadAverage is null ? null : RunnerJson.Serialize(runner.LoadAverage),
            ["Disks"] = RunnerJson.Serialize(runner.Disks),
            ["Pool"] = runner.Pool,
            ["Cores"] = runner.Cores,
            ["Gpus"] = runner.Gpus,
        };
        await _table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
    }
}
