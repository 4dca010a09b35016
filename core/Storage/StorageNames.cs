using EnvFabric.Core.Configuration;
using Microsoft.Extensions.Options;

namespace EnvFabric.Core.Storage;

/// <summary>
/// Names of the tables, queues and blob containers the service owns, with the deployment's
/// <c>ENVFABRIC_STORAGE_PREFIX</c> applied, so several deployments (or parallel tests) share one account.
/// The durable hub's own names come from its hub name instead.
/// </summary>
public sealed class StorageNames(IOptions<EnvFabricOptions> options)
{
    private readonly string _prefix = options?.Value.StoragePrefix ?? "";

    /// <summary>A table name: letters and digits only, e.g. <c>Environments</c> or <c>p1Environments</c>.</summary>
    public string Table(string name) => _prefix + name;

    /// <summary>A queue name: lower case, dashes allowed, e.g. <c>runner-jobs</c> or <c>p1-runner-jobs</c>.</summary>
    public string Queue(string name) => _prefix.Length == 0 ? name : _prefix + "-" + name;

    /// <summary>A blob container name, same rules as queues.</summary>
    public string Container(string name) => Queue(name);
}
