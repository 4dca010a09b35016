using Azure.Data.Tables;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EnvFabric.Core.Pools;

/// <summary>Where the hosts of a deployment agree on which <c>pools.json</c> is in force: the SHA-256 of the last file reloaded.</summary>
public interface IPoolGenerationStore
{
    /// <summary>The generation written by the last reload, or null when none was.</summary>
    Task<string?> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>Records <paramref name="generation"/> as the one every host should load.</summary>
    Task SetAsync(string generation, DateTimeOffset at, CancellationToken cancellationToken = default);
}

/// <summary><see cref="IPoolGenerationStore"/> as the row <c>pools/generation</c> of the <c>Settings</c> table.</summary>
public sealed class TablePoolGenerationStore(StorageAccount storage, StorageNames names) : IPoolGenerationStore
{
    private const string Partition = "pools";
    private const string Row = "generation";

    private readonly TableClient _table = (storage ?? throw new ArgumentNullException(nameof(storage))).Tables.GetTableClient((names ?? throw new ArgumentNullException(nameof(names))).Table("Settings"));
    private volatile bool _tableReady;

    /// <inheritdoc />
    public async Task<string?> GetAsync(CancellationToken cancellationToken = default)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var row = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, Row, ["Generation"], cancellationToken).ConfigureAwait(false);
        return row.HasValue ? row.Value?.GetString("Generation") : null;
    }

    /// <inheritdoc />
    public async Task SetAsync(string generation, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generation);
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        await _table.UpsertEntityAsync(new TableEntity(Partition, Row) { ["Generation"] = generation, ["UpdatedAt"] = at }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (!_tableReady)
        {
            await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            _tableReady = true;
        }
    }
}

/// <summary>
/// The pool configuration of <c>{DATA_ROOT}/pools.json</c>. Loaded once at construction (a bad file throws an
/// <see cref="InvalidSettingException"/> naming the file and the first problem, so the host stops with one line);
/// <see cref="Reload"/> reads and validates the file and swaps the configuration with one reference assignment,
/// or keeps the running one and returns the problems. With a <see cref="IPoolGenerationStore"/>, reading
/// <see cref="Current"/> at most every <see cref="GenerationCheckInterval"/> starts a background look at the
/// deployment's generation row, and a host whose file differs from the one reloaded elsewhere reloads it.
/// </summary>
public sealed partial class FilePoolConfiguration : IPoolConfiguration
{
    /// <summary>How often a host compares its configuration with the deployment's generation row.</summary>
    public static readonly TimeSpan GenerationCheckInterval = TimeSpan.FromSeconds(15);

    private readonly string _path;
    private readonly int _defaultCapacity;
    private readonly IPoolGenerationStore? _generations;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _reloadLock = new();
    private volatile Loaded _loaded;
    private long _nextCheck;
    private int _checking;

    /// <summary>Loads <paramref name="path"/> now; no file is <see cref="PoolConfiguration.Default"/> of <paramref name="defaultCapacity"/>.</summary>
    /// <exception cref="InvalidSettingException">The file exists and cannot be used.</exception>
    public FilePoolConfiguration(string path, int defaultCapacity, IPoolGenerationStore? generations = null, TimeProvider? time = null, ILogger<FilePoolConfiguration>? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
        _defaultCapacity = defaultCapacity;
        _generations = generations;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        var load = PoolFile.Load(path, defaultCapacity, _time.GetUtcNow());
        if (!load.Ok)
        {
            throw new InvalidSettingException($"{path}: {load.Problems[0]}");
        }

        _loaded = new Loaded(load.Configuration!, load.Generation);
        _nextCheck = _time.GetTimestamp() + Ticks(GenerationCheckInterval);
    }

    /// <summary>The file read.</summary>
    public string Path => _path;

    /// <summary>SHA-256 of the file in force (empty for the built-in default).</summary>
    public string Generation => _loaded.Generation;

    /// <inheritdoc />
    public PoolConfiguration Current
    {
        get
        {
            var loaded = _loaded;
            if (_generations is not null && _time.GetTimestamp() >= Interlocked.Read(ref _nextCheck) && Interlocked.CompareExchange(ref _checking, 1, 0) == 0)
            {
                Interlocked.Exchange(ref _nextCheck, _time.GetTimestamp() + Ticks(GenerationCheckInterval));
                _ = Task.Run(FollowGenerationAsync);
            }

            return loaded.Configuration;
        }
    }

    /// <summary>True while a background look at the generation row runs (tests wait on it instead of sleeping).</summary>
    public bool IsCheckingGeneration => Volatile.Read(ref _checking) != 0;

    /// <inheritdoc />
    public PoolReloadResult Reload() => ToResult(ReloadFile());

    /// <summary>
    /// <see cref="Reload"/>, then, when the file was good, records its generation so the deployment's other hosts
    /// follow within <see cref="GenerationCheckInterval"/>.
    /// </summary>
    public async Task<(PoolReloadResult Result, IReadOnlyList<string> Problems)> ReloadAndPublishAsync(CancellationToken cancellationToken = default)
    {
        var load = ReloadFile();
        if (load.Ok && _generations is not null)
        {
            await _generations.SetAsync(load.Generation, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        }

        return (ToResult(load), load.Problems);
    }

    private PoolFileLoad ReloadFile()
    {
        // One reload at a time, so two racing reloads cannot install an older read over a newer one.
        lock (_reloadLock)
        {
            var load = PoolFile.Load(_path, _defaultCapacity, _time.GetUtcNow());
            if (load.Ok)
            {
                _loaded = new Loaded(load.Configuration!, load.Generation);
            }

            return load;
        }
    }

    private PoolReloadResult ToResult(PoolFileLoad load) =>
        load.Ok ? new PoolReloadResult(true, null, load.Configuration!) : new PoolReloadResult(false, string.Join("; ", load.Problems), _loaded.Configuration);

    private async Task FollowGenerationAsync()
    {
        try
        {
            var wanted = await _generations!.GetAsync().ConfigureAwait(false);
            var loaded = _loaded;
            if (wanted is null || wanted == loaded.Generation || wanted == loaded.RefusedGeneration)
            {
                return;
            }

            var load = ReloadFile();
            if (load.Ok)
            {
                LogFollowed(_logger, _path, load.Generation);
            }
            else
            {
                // Remember the refusal so the same bad file is reported once, not every check.
                lock (_reloadLock)
                {
                    _loaded = _loaded with { RefusedGeneration = wanted };
                }

                LogFollowRefused(_logger, _path, load.Problems[0]);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Fire and forget: whatever failed (storage, identity, the share), the running configuration stays and the next look retries.
            LogGenerationUnreadable(_logger, ex.Message);
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "Pools: reloaded {Path} (generation {Generation}) after a reload on another host")]
    private static partial void LogFollowed(ILogger logger, string path, string generation);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Warning, Message = "Pools: another host reloaded {Path}, but this host's copy is refused and the running configuration stays: {Problem}")]
    private static partial void LogFollowRefused(ILogger logger, string path, string problem);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Warning, Message = "Pools: the generation row cannot be read: {Reason}")]
    private static partial void LogGenerationUnreadable(ILogger logger, string reason);

    private sealed record Loaded(PoolConfiguration Configuration, string Generation, string? RefusedGeneration = null);
}
