using System.Globalization;
using Azure;
using Azure.Data.Tables;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.Audit;

/// <summary>
/// <see cref="IAuditLog"/> on the <c>EnvOperations</c> table. One partition per UTC day and row keys of
/// inverted ticks, so a time-range query touches only its days and reads newest first.
/// </summary>
public sealed class TableAuditLog(StorageAccount storage, StorageNames names) : IAuditLog
{
    /// <summary>The table's base name.</summary>
    public const string TableName = "EnvOperations";

    private readonly TableClient _table = storage.Tables.GetTableClient(names.Table(TableName));

    /// <inheritdoc />
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default) =>
        await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task WriteAsync(AuditRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var at = record.At.ToUniversalTime();
        var entity = new TableEntity(Day(at), (DateTimeOffset.MaxValue.Ticks - at.Ticks).ToString("D19", CultureInfo.InvariantCulture) + "-" + record.Id)
        {
            ["Id"] = record.Id,
            ["At"] = at,
            ["Operation"] = record.Operation,
            ["Environment"] = record.Environment,
            ["Who"] = record.Who,
            ["ClientIp"] = record.ClientIp,
            ["Inputs"] = Truncate(record.Inputs),
            ["Outcome"] = record.Outcome,
            ["DurationMs"] = record.DurationMs,
            ["Error"] = Truncate(record.Error),
            ["OperationId"] = record.OperationId,
        };
        try
        {
            // Upsert keeps a retried activity from failing on its own earlier write.
            await _table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex)
        {
            throw new AuditWriteException($"audit write to table '{_table.Name}' failed: {ex.Status} {ex.ErrorCode}", ex);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AuditRecord>> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var filters = new List<string>();
        if (query.From is { } from)
        {
            filters.Add(TableClient.CreateQueryFilter($"PartitionKey ge {Day(from.ToUniversalTime())} and At ge {from.ToUniversalTime()}"));
        }

        if (query.To is { } to)
        {
            filters.Add(TableClient.CreateQueryFilter($"PartitionKey le {Day(to.ToUniversalTime())} and At le {to.ToUniversalTime()}"));
        }

        if (query.Operation is { } operation)
        {
            filters.Add(TableClient.CreateQueryFilter($"Operation eq {operation}"));
        }

        if (query.Environment is { } environment)
        {
            filters.Add(TableClient.CreateQueryFilter($"Environment eq {environment}"));
        }

        if (query.ClientIp is { } ip)
        {
            filters.Add(TableClient.CreateQueryFilter($"ClientIp eq {ip}"));
        }

        if (query.OperationId is { } operationId)
        {
            filters.Add(TableClient.CreateQueryFilter($"OperationId eq {operationId}"));
        }

        var filter = filters.Count == 0 ? null : string.Join(" and ", filters.Select(f => "(" + f + ")"));
        var rows = new List<AuditRecord>();
        await foreach (var e in _table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new AuditRecord
            {
                Id = e.GetString("Id") ?? e.RowKey,
                At = e.GetDateTimeOffset("At") ?? default,
                Operation = e.GetString("Operation") ?? "",
                Environment = e.GetString("Environment") ?? "",
                Who = e.GetString("Who") ?? "",
                ClientIp = e.GetString("ClientIp") ?? "",
                Inputs = e.GetString("Inputs") ?? "{}",
                Outcome = e.GetString("Outcome") ?? "",
                DurationMs = e.GetInt64("DurationMs") ?? 0,
                Error = e.GetString("Error"),
                OperationId = e.GetString("OperationId"),
            });
        }

        // Partitions come back in ascending day order; newest first across days.
        return rows.OrderByDescending(r => r.At).Take(Math.Clamp(query.Limit, 1, 1000)).ToArray();
    }

    private static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    private static string? Truncate(string? text) => text is null || text.Length <= 30_000 ? text : text[..30_000];
}
