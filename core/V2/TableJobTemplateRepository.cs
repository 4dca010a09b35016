using Azure;
using Azure.Data.Tables;
using EnvFabric.Core.Storage;

namespace EnvFabric.Core.V2;

/// <summary>Stored task definitions of <c>/v2/templates</c>.</summary>
public interface IJobTemplateRepository
{
    Task<JobTemplate?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every template, by name.</summary>
    Task<IReadOnlyList<JobTemplate>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds <paramref name="template"/> with the next id; null when the name is taken.</summary>
    Task<JobTemplate?> AddAsync(JobTemplate template, CancellationToken cancellationToken = default);

    /// <summary>Replaces the stored template if its ETag still matches; null when it changed meanwhile or is gone.</summary>
    Task<JobTemplate?> ReplaceAsync(JobTemplate template, CancellationToken cancellationToken = default);
}

/// <summary>
/// Templates in the <c>V2Templates</c> table: one row per template (partition <c>template</c>, row key the
/// name) and a counter row whose ETag makes ids unique across hosts.
/// </summary>
public sealed class TableJobTemplateRepository : IJobTemplateRepository
{
    public const string TableName = "V2Templates";
    private const string Partition = "template";
    private const string CounterPartition = "counter";
    private const string CounterRow = "id";

    private readonly TableClient _table;
    private volatile bool _ready;

    public TableJobTemplateRepository(StorageAccount storage, StorageNames names)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(names);
        _table = storage.Tables.GetTableClient(names.Table(TableName));
    }

    private async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (!_ready)
        {
            await _table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            _ready = true;
        }
    }

    public async Task<JobTemplate?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!TemplateNames.IsValid(name))
        {
            return null;
        }

        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var row = await _table.GetEntityIfExistsAsync<TableEntity>(Partition, name, cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue && row.Value is { } entity ? FromEntity(entity) : null;
    }

    public async Task<IReadOnlyList<JobTemplate>> ListAsync(CancellationToken cancellationToken = default)
    {
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<JobTemplate>();
        await foreach (var entity in _table.QueryAsync<TableEntity>(e => e.PartitionKey == Partition, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(FromEntity(entity));
        }

        return list;
    }

    public async Task<JobTemplate?> AddAsync(JobTemplate template, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(template);
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        if (await GetAsync(template.Name, cancellationToken).ConfigureAwait(false) is not null)
        {
            return null;
        }

        var id = await NextIdAsync(cancellationToken).ConfigureAwait(false);
        var stored = template with { Id = id };
        try
        {
            var response = await _table.AddEntityAsync(ToEntity(stored), cancellationToken).ConfigureAwait(false);
            return stored with { ETag = response.Headers.ETag?.ToString() };
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Another host added the same name between the check and the add; its id is spent.
            return null;
        }
    }

    public async Task<JobTemplate?> ReplaceAsync(JobTemplate template, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(template);
        await EnsureAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var etag = template.ETag is { } tag ? new ETag(tag) : ETag.All;
            var response = await _table.UpdateEntityAsync(ToEntity(template), etag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return template with { ETag = response.Headers.ETag?.ToString() };
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return null;
        }
    }

    private async Task<long> NextIdAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var row = await _table.GetEntityIfExistsAsync<TableEntity>(CounterPartition, CounterRow, cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                if (!row.HasValue || row.Value is null)
                {
                    await _table.AddEntityAsync(new TableEntity(CounterPartition, CounterRow) { ["Next"] = 2L }, cancellationToken).ConfigureAwait(false);
                    return 1;
                }

                var next = row.Value.GetInt64("Next") ?? 1;
                row.Value["Next"] = next + 1;
                await _table.UpdateEntityAsync(row.Value, row.Value.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return next;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 && attempt < 50)
            {
                // Another host took this id; read the counter again.
            }
        }
    }

    private static TableEntity ToEntity(JobTemplate t) => new(Partition, t.Name)
    {
        ["Id"] = t.Id,
        ["Title"] = t.Title,
        ["Schema"] = t.Schema,
        ["Type"] = t.Type,
        ["Extra"] = t.Extra,
        ["CreateTime"] = t.CreateTime,
        ["UpdateTime"] = t.UpdateTime,
        ["CreatedBy"] = t.CreatedBy,
    };

    private static JobTemplate FromEntity(TableEntity e) => new()
    {
        Id = e.GetInt64("Id") ?? 0,
        Name = e.RowKey,
        Title = e.GetString("Title") ?? "",
        Schema = e.GetString("Schema") ?? "",
        Type = e.GetString("Type") ?? "",
        Extra = e.GetString("Extra") ?? "{}",
        CreateTime = e.GetDateTimeOffset("CreateTime") ?? e.Timestamp ?? DateTimeOffset.MinValue,
        UpdateTime = e.GetDateTimeOffset("UpdateTime") ?? e.Timestamp ?? DateTimeOffset.MinValue,
        CreatedBy = e.GetString("CreatedBy"),
        ETag = e.ETag.ToString(),
    };
}
