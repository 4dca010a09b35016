using System.Globalization;
using Azure;
using Azure.Data.Tables;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Monitoring;

/// <summary>
/// One sample of one source (the host <c>host:{machine}</c> or a runner <c>runner:{id}</c>): a raw row every
/// SYSTEM_SAMPLE_SECONDS, or an hourly row down-sampled from them (<see cref="Samples"/> raw rows; the plain figures
/// are averages, the <c>*Max</c> ones the maxima; totals, slots and disk are the hour's last reading).
/// </summary>
public sealed record SystemSample
{
    /// <summary>When it was taken (raw, on the interval grid) or the hour it sums up (hourly).</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary><c>host:{machine}</c> or <c>runner:{runner id}</c>.</summary>
    public required string Source { get; init; }

    /// <summary>Machine name.</summary>
    public string? Host { get; init; }

    /// <summary>Busy CPU percentage.</summary>
    public double? CpuPercent { get; init; }

    /// <summary>Memory in use, MB.</summary>
    public double? MemoryUsedMb { get; init; }

    /// <summary>Total memory, MB.</summary>
    public double? MemoryTotalMb { get; init; }

    /// <summary>1-minute load average.</summary>
    public double? Load1 { get; init; }

    /// <summary>5-minute load average.</summary>
    public double? Load5 { get; init; }

    /// <summary>15-minute load average.</summary>
    public double? Load15 { get; init; }

    /// <summary>Jobs running (runners only).</summary>
    public double? RunningJobs { get; init; }

    /// <summary>Job slots (runners only).</summary>
    public int? Slots { get; init; }

    /// <summary>Size of the share's file system.</summary>
    public long? DiskTotalBytes { get; init; }

    /// <summary>Free bytes on the share's file system.</summary>
    public long? DiskFreeBytes { get; init; }

    /// <summary>Raw rows summed up (1 for a raw row).</summary>
    public int Samples { get; init; } = 1;

    /// <summary>Hourly rows: the largest CPU percentage of the hour.</summary>
    public double? CpuPercentMax { get; init; }

    /// <summary>Hourly rows: the largest memory in use.</summary>
    public double? MemoryUsedMbMax { get; init; }

    /// <summary>Hourly rows: the largest 1-minute load.</summary>
    public double? Load1Max { get; init; }

    /// <summary>Hourly rows: the most jobs running at once.</summary>
    public double? RunningJobsMax { get; init; }

    /// <summary>A source id made safe for a table key (no <c>/ \ # ?</c> or control characters).</summary>
    public static string SourceKey(string kind, string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return kind + ":" + new string(id.Select(c => c is '/' or '\\' or '#' or '?' || char.IsControl(c) ? '_' : c).ToArray());
    }
}

/// <summary>What one down-sampling pass did.</summary>
/// <param name="HourlyWritten">Hourly rows added.</param>
/// <param name="RawDeleted">Raw rows deleted (older than 24 h, now in hourly rows).</param>
/// <param name="HourlyDeleted">Hourly rows deleted (older than 7 days).</param>
public sealed record DownsampleResult(int HourlyWritten, int RawDeleted, int HourlyDeleted);

/// <summary>
/// The <c>SystemSamples</c> table. Raw rows: partition <c>raw-yyyyMMddHH</c>, row <c>yyyyMMddHHmmss-{source}</c>,
/// kept <see cref="RawRetention"/>; hourly rows: partition <c>hour-yyyyMMdd</c>, row <c>yyyyMMddHH-{source}</c>,
/// kept <see cref="HourlyRetention"/>. Down-sampling is idempotent and safe on several hosts at once: an hourly
/// row is only ever added (the first writer wins, and every writer reads the same raw rows before any is
/// deleted), and raw rows are deleted only after their hour's rows exist.
/// </summary>
public sealed class SystemSampleStore
{
    /// <summary>The table's name before the storage prefix.</summary>
    public const string TableName = "SystemSamples";

    /// <summary>How long raw rows are kept.</summary>
    public static readonly TimeSpan RawRetention = TimeSpan.FromHours(24);

    /// <summary>How long hourly rows are kept.</summary>
    public static readonly TimeSpan HourlyRetention = TimeSpan.FromDays(7);

    private const string RawPrefix = "raw-";
    private const string HourPrefix = "hour-";
    private readonly TableClient _table;
    private readonly Lazy<Task> _created;

    /// <summary>Binds to the table (created on first use).</summary>
    public SystemSampleStore(StorageAccount storage, StorageNames names)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(names);
        _table = storage.Tables.GetTableClient(names.Table(TableName));
        _created = new Lazy<Task>(() => _table.CreateIfNotExistsAsync());
    }

    /// <summary>The start of the hour of <paramref name="at"/>, UTC.</summary>
    public static DateTimeOffset HourOf(DateTimeOffset at) => new(at.UtcDateTime.Year, at.UtcDateTime.Month, at.UtcDateTime.Day, at.UtcDateTime.Hour, 0, 0, TimeSpan.Zero);

    /// <summary>Writes raw rows (a row of the same time and source is replaced: several hosts sampling the same runner write one row).</summary>
    public async Task WriteAsync(IEnumerable<SystemSample> samples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(samples);
        await _created.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var sample in samples)
        {
            var at = sample.At.ToUniversalTime();
            await _table.UpsertEntityAsync(ToEntity(RawPrefix + Key(at, "yyyyMMddHH"), Key(at, "yyyyMMddHHmmss") + "-" + sample.Source, sample), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Raw rows taken at or after <paramref name="from"/>, oldest first; only <paramref name="source"/>'s when given.</summary>
    public async Task<IReadOnlyList<SystemSample>> ReadRawAsync(DateTimeOffset from, string? source = null, CancellationToken cancellationToken = default)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {RawPrefix + Key(HourOf(from), "yyyyMMddHH")} and PartitionKey lt {RawPrefix + "~"}");
        var rows = await QueryAsync(filter, cancellationToken).ConfigureAwait(false);
        return rows.Where(s => s.At >= from && (source is null || s.Source == source)).OrderBy(s => s.At).ThenBy(s => s.Source, StringComparer.Ordinal).ToList();
    }

    /// <summary>Hourly rows of hours starting at or after <paramref name="from"/>, oldest first.</summary>
    public async Task<IReadOnlyList<SystemSample>> ReadHourlyAsync(DateTimeOffset from, string? source = null, CancellationToken cancellationToken = default)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {HourPrefix + Key(from, "yyyyMMdd")} and PartitionKey lt {HourPrefix + "~"}");
        var rows = await QueryAsync(filter, cancellationToken).ConfigureAwait(false);
        return rows.Where(s => s.At >= HourOf(from) && (source is null || s.Source == source)).OrderBy(s => s.At).ThenBy(s => s.Source, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Sums the raw rows of every hour that ended at least <see cref="RawRetention"/> before <paramref name="now"/>
    /// into hourly rows, deletes those raw rows, and deletes hourly rows older than <see cref="HourlyRetention"/>.
    /// </summary>
    public async Task<DownsampleResult> DownsampleAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await _created.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        var cutoff = HourOf(now - RawRetention);
        var old = await QueryEntitiesAsync(TableClient.CreateQueryFilter($"PartitionKey ge {RawPrefix} and PartitionKey lt {RawPrefix + Key(cutoff, "yyyyMMddHH")}"), cancellationToken).ConfigureAwait(false);
        var written = 0;
        var rawDeleted = 0;
        foreach (var partition in old.GroupBy(e => e.PartitionKey, StringComparer.Ordinal))
        {
            foreach (var hourly in Downsample(partition.Select(FromEntity)))
            {
                try
                {
                    await _table.AddEntityAsync(ToEntity(HourPrefix + Key(hourly.At, "yyyyMMdd"), Key(hourly.At, "yyyyMMddHH") + "-" + hourly.Source, hourly), cancellationToken).ConfigureAwait(false);
                    written++;
                }
                catch (RequestFailedException ex) when (ex.Status == 409)
                {
                    // Another host summed this hour first, from the same raw rows.
                }
            }

            rawDeleted += await DeleteAsync(partition.ToList(), cancellationToken).ConfigureAwait(false);
        }

        var hourlyCutoff = HourOf(now - HourlyRetention);
        var expired = (await QueryEntitiesAsync(TableClient.CreateQueryFilter($"PartitionKey ge {HourPrefix} and PartitionKey le {HourPrefix + Key(hourlyCutoff, "yyyyMMdd")}"), cancellationToken).ConfigureAwait(false))
            .Where(e => FromEntity(e).At < hourlyCutoff)
            .ToList();
        var hourlyDeleted = 0;
        foreach (var partition in expired.GroupBy(e => e.PartitionKey, StringComparer.Ordinal))
        {
            hourlyDeleted += await DeleteAsync(partition.ToList(), cancellationToken).ConfigureAwait(false);
        }

        return new DownsampleResult(written, rawDeleted, hourlyDeleted);
    }

    /// <summary>
    /// The down-sampling math: raw rows grouped by hour and source into one row each, with averages (over the rows
    /// that have the figure), maxima of CPU, memory in use, 1-minute load and running jobs, and the hour's last
    /// total memory, slots and disk figures.
    /// </summary>
    public static IReadOnlyList<SystemSample> Downsample(IEnumerable<SystemSample> raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        return raw.GroupBy(s => (Hour: HourOf(s.At), s.Source))
            .OrderBy(g => g.Key.Hour).ThenBy(g => g.Key.Source, StringComparer.Ordinal)
            .Select(g =>
            {
                var rows = g.OrderBy(s => s.At).ToList();
                var last = rows[^1];
                return new SystemSample
                {
                    At = g.Key.Hour,
                    Source = g.Key.Source,
                    Host = last.Host,
                    CpuPercent = Average(rows, s => s.CpuPercent),
                    MemoryUsedMb = Average(rows, s => s.MemoryUsedMb),
                    MemoryTotalMb = rows.LastOrDefault(s => s.MemoryTotalMb is not null)?.MemoryTotalMb,
                    Load1 = Average(rows, s => s.Load1),
                    Load5 = Average(rows, s => s.Load5),
                    Load15 = Average(rows, s => s.Load15),
                    RunningJobs = Average(rows, s => s.RunningJobs),
                    Slots = rows.LastOrDefault(s => s.Slots is not null)?.Slots,
                    DiskTotalBytes = rows.LastOrDefault(s => s.DiskTotalBytes is not null)?.DiskTotalBytes,
                    DiskFreeBytes = rows.LastOrDefault(s => s.DiskFreeBytes is not null)?.DiskFreeBytes,
                    Samples = rows.Sum(s => s.Samples),
                    CpuPercentMax = Max(rows, s => s.CpuPercentMax ?? s.CpuPercent),
                    MemoryUsedMbMax = Max(rows, s => s.MemoryUsedMbMax ?? s.MemoryUsedMb),
                    Load1Max = Max(rows, s => s.Load1Max ?? s.Load1),
                    RunningJobsMax = Max(rows, s => s.RunningJobsMax ?? s.RunningJobs),
                };
            })
            .ToList();
    }

    private static double? Average(List<SystemSample> rows, Func<SystemSample, double?> figure)
    {
        // Weighted by the raw rows each stands for, so summing hourly rows again gives the same figure.
        double sum = 0;
        var weight = 0;
        foreach (var row in rows)
        {
            if (figure(row) is { } value)
            {
                sum += value * row.Samples;
                weight += row.Samples;
            }
        }

        return weight == 0 ? null : Math.Round(sum / weight, 2);
    }

    private static double? Max(List<SystemSample> rows, Func<SystemSample, double?> figure)
    {
        var values = rows.Select(figure).OfType<double>().ToList();
        return values.Count == 0 ? null : values.Max();
    }

    private async Task<int> DeleteAsync(List<TableEntity> rows, CancellationToken cancellationToken)
    {
        var deleted = 0;
        foreach (var chunk in rows.Chunk(100))
        {
            try
            {
                await _table.SubmitTransactionAsync(chunk.Select(e => new TableTransactionAction(TableTransactionActionType.Delete, e, ETag.All)), cancellationToken).ConfigureAwait(false);
                deleted += chunk.Length;
            }
            catch (TableTransactionFailedException)
            {
                // Another host deleted some of them first: delete the rest one by one.
                foreach (var e in chunk)
                {
                    try
                    {
                        await _table.DeleteEntityAsync(e.PartitionKey, e.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
                        deleted++;
                    }
                    catch (RequestFailedException ex) when (ex.Status == 404)
                    {
                        // Already gone.
                    }
                }
            }
        }

        return deleted;
    }

    private async Task<List<SystemSample>> QueryAsync(string filter, CancellationToken cancellationToken) =>
        (await QueryEntitiesAsync(filter, cancellationToken).ConfigureAwait(false)).Select(FromEntity).ToList();

    private async Task<List<TableEntity>> QueryEntitiesAsync(string filter, CancellationToken cancellationToken)
    {
        await _created.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<TableEntity>();
        await foreach (var e in _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows.Add(e);
        }

        return rows;
    }

    private static string Key(DateTimeOffset at, string format) => at.UtcDateTime.ToString(format, CultureInfo.InvariantCulture);

    private static TableEntity ToEntity(string partition, string row, SystemSample s) => new(partition, row)
    {
        ["At"] = s.At.ToUniversalTime(),
        ["Source"] = s.Source,
        ["Host"] = s.Host,
        ["CpuPercent"] = s.CpuPercent,
        ["MemoryUsedMb"] = s.MemoryUsedMb,
        ["MemoryTotalMb"] = s.MemoryTotalMb,
        ["Load1"] = s.Load1,
        ["Load5"] = s.Load5,
        ["Load15"] = s.Load15,
        ["RunningJobs"] = s.RunningJobs,
        ["Slots"] = s.Slots,
        ["DiskTotalBytes"] = s.DiskTotalBytes,
        ["DiskFreeBytes"] = s.DiskFreeBytes,
        ["Samples"] = s.Samples,
        ["CpuPercentMax"] = s.CpuPercentMax,
        ["MemoryUsedMbMax"] = s.MemoryUsedMbMax,
        ["Load1Max"] = s.Load1Max,
        ["RunningJobsMax"] = s.RunningJobsMax,
    };

    private static SystemSample FromEntity(TableEntity e) => new()
    {
        At = e.GetDateTimeOffset("At") ?? default,
        Source = e.GetString("Source") ?? "",
        Host = e.GetString("Host"),
        CpuPercent = e.GetDouble("CpuPercent"),
        MemoryUsedMb = e.GetDouble("MemoryUsedMb"),
        MemoryTotalMb = e.GetDouble("MemoryTotalMb"),
        Load1 = e.GetDouble("Load1"),
        Load5 = e.GetDouble("Load5"),
        Load15 = e.GetDouble("Load15"),
        RunningJobs = e.GetDouble("RunningJobs"),
        Slots = e.GetInt32("Slots"),
        DiskTotalBytes = e.GetInt64("DiskTotalBytes"),
        DiskFreeBytes = e.GetInt64("DiskFreeBytes"),
        Samples = e.GetInt32("Samples") ?? 1,
        CpuPercentMax = e.GetDouble("CpuPercentMax"),
        MemoryUsedMbMax = e.GetDouble("MemoryUsedMbMax"),
        Load1Max = e.GetDouble("Load1Max"),
        RunningJobsMax = e.GetDouble("RunningJobsMax"),
    };
}
