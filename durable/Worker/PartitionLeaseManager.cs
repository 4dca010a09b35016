using System.Globalization;
using Azure;
using Azure.Data.Tables;
using EnvFabric.Durable.Storage;
using Microsoft.Extensions.Logging;

namespace EnvFabric.Durable.Worker;

/// <summary>
/// Table-based partition leases, as DTFx's table partition manager: one row per control queue in
/// <c>{hub}Partitions</c> (Owner, ExpiresAt) and one heartbeat row per live worker. Each worker aims at an equal
/// share (partitions / live workers), renews what it owns every quarter of the lease interval, releases its
/// surplus, and takes free or expired leases: a killed worker's partitions move once its leases expire.
/// Every change is conditional on the row's ETag, so two workers never both win a lease.
/// </summary>
internal sealed class PartitionLeaseManager
{
    private const string LeasePartition = "lease";
    private const string WorkerPartition = "worker";

    private readonly TaskHubStorage _storage;
    private readonly string _workerId;
    private readonly ILogger _logger;
    private readonly Func<int, CancellationToken, Task> _start;
    private readonly Func<int, Task> _stop;
    private readonly Dictionary<int, ETag> _owned = [];

    public PartitionLeaseManager(TaskHubStorage storage, string workerId, ILogger logger, Func<int, CancellationToken, Task> start, Func<int, Task> stop)
    {
        _storage = storage;
        _workerId = workerId;
        _logger = logger;
        _start = start;
        _stop = stop;
    }

    public IReadOnlyCollection<int> Owned
    {
        get
        {
            lock (_owned)
            {
                return _owned.Keys.ToArray();
            }
        }
    }

    public TimeSpan Period => TimeSpan.FromMilliseconds(Math.Max(250, _storage.Options.PartitionLeaseInterval.TotalMilliseconds / 4));

    public async Task BalanceAsync(CancellationToken cancellationToken)
    {
        var table = _storage.Partitions;
        var interval = _storage.Options.PartitionLeaseInterval;
        var now = DateTimeOffset.UtcNow;
        await table.UpsertEntityAsync(new TableEntity(WorkerPartition, _workerId) { ["ExpiresAt"] = now + interval }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);

        var leases = new Dictionary<int, TableEntity>();
        var liveWorkers = 0;
        await foreach (var row in table.QueryAsync<TableEntity>(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (row.PartitionKey == WorkerPartition)
            {
                if (row.GetDateTimeOffset("ExpiresAt") > now)
                {
                    liveWorkers++;
                }
                else if (row.GetDateTimeOffset("ExpiresAt") < now - TimeSpan.FromHours(1))
                {
                    // A worker gone for an hour: forget its heartbeat row.
                    await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken).ConfigureAwait(false);
                }
            }
            else if (row.PartitionKey == LeasePartition && int.TryParse(row.RowKey.AsSpan("control-".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                leases[index] = row;
            }
        }

        var count = _storage.ControlQueues.Count;
        var target = (int)Math.Ceiling(count / (double)Math.Max(1, liveWorkers));

        // Renew what we own; a lease someone else now holds is lost.
        foreach (var index in Owned)
        {
            var row = leases.GetValueOrDefault(index);
            if (row is null || row.GetString("Owner") != _workerId)
            {
                await LoseAsync(index).ConfigureAwait(false);
                continue;
            }

            try
            {
                var renewed = await table.UpdateEntityAsync(Lease(index, _workerId, now + interval), row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                lock (_owned)
                {
                    _owned[index] = renewed.Headers.ETag ?? row.ETag;
                }
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                await LoseAsync(index).ConfigureAwait(false);
            }
        }

        // Surplus goes back, highest partitions first, after their work stops (so the next owner starts clean).
        foreach (var index in Owned.OrderDescending().Take(Math.Max(0, Owned.Count - target)).ToArray())
        {
            await ReleaseAsync(index, cancellationToken).ConfigureAwait(false);
        }

        for (var index = 0; index < count && Owned.Count < target; index++)
        {
            if (Owned.Contains(index))
            {
                continue;
            }

            var row = leases.GetValueOrDefault(index);
            try
            {
                Response response;
                if (row is null)
                {
                    response = await table.AddEntityAsync(Lease(index, _workerId, now + interval), cancellationToken).ConfigureAwait(false);
                }
                else if (string.IsNullOrEmpty(row.GetString("Owner")) || row.GetDateTimeOffset("ExpiresAt") < now)
                {
                    response = await table.UpdateEntityAsync(Lease(index, _workerId, now + interval), row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    continue;
                }

                lock (_owned)
                {
                    _owned[index] = response.Headers.ETag ?? ETag.All;
                }

                _logger.PartitionAcquired(_workerId, index);
                await _start(index, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Another worker won this lease first.
            }
        }
    }

    /// <summary>Stops every partition and gives the leases back at once, so another worker need not wait for expiry.</summary>
    public async Task ReleaseAllAsync(CancellationToken cancellationToken)
    {
        foreach (var index in Owned)
        {
            await ReleaseAsync(index, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await _storage.Partitions.DeleteEntityAsync(WorkerPartition, _workerId, ETag.All, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException)
        {
        }
    }

    private async Task ReleaseAsync(int index, CancellationToken cancellationToken)
    {
        await _stop(index).ConfigureAwait(false);
        ETag etag;
        lock (_owned)
        {
            if (!_owned.Remove(index, out etag))
            {
                return;
            }
        }

        try
        {
            await _storage.Partitions.UpdateEntityAsync(Lease(index, "", DateTimeOffset.UtcNow.AddSeconds(-1)), etag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException)
        {
            // Already taken or expired: nothing to give back.
        }

        _logger.PartitionReleased(_workerId, index);
    }

    private async Task LoseAsync(int index)
    {
        lock (_owned)
        {
            _owned.Remove(index);
        }

        _logger.PartitionLost(_workerId, index);
        await _stop(index).ConfigureAwait(false);
    }

    private static TableEntity Lease(int index, string owner, DateTimeOffset expiresAt) =>
        new(LeasePartition, string.Create(CultureInfo.InvariantCulture, $"control-{index:00}"))
        {
            ["Owner"] = owner,
            ["ExpiresAt"] = expiresAt,
        };
}
