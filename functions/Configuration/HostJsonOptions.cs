namespace EnvFabric.Functions.Configuration;

/// <summary>
/// host.json in Azure Functions' schema. The host reads it into configuration under
/// <c>AzureFunctionsJobHost</c>, as the Functions host does, so <c>AzureFunctionsJobHost__extensions__...</c>
/// environment variables override single values.
/// </summary>
public sealed class HostJsonOptions
{
    public const string SectionName = "AzureFunctionsJobHost";

    public string Version { get; set; } = "2.0";

    public TimeSpan FunctionTimeout { get; set; } = TimeSpan.FromMinutes(10);

    public ExtensionsOptions Extensions { get; set; } = new();

    public sealed class ExtensionsOptions
    {
        public HttpOptions Http { get; set; } = new();

        public DurableTaskHostOptions DurableTask { get; set; } = new();
    }

    public sealed class HttpOptions
    {
        /// <summary>Functions defaults to "api"; the seeds' routes carry their own prefixes, so "" here.</summary>
        public string RoutePrefix { get; set; } = "";

        public int MaxConcurrentRequests { get; set; } = 200;

        public RateLimitOptions RateLimit { get; set; } = new();
    }

    /// <summary>
    /// Requests per key per minute, counted apart for each dialect (<c>/api</c>, <c>/envs</c>, <c>/v2</c>, the rest), so
    /// polling one dialect never locks a key out of another.
    /// </summary>
    public sealed class RateLimitOptions
    {
        /// <summary>The limit of every dialect that sets none of its own; 0 turns limiting off there.</summary>
        public int RequestsPerMinute { get; set; } = 1200;

        /// <summary><c>/api/*</c> (seeds 000, 003, 004): no limit in their seeds, so the default.</summary>
        public DialectRateLimit Api { get; set; } = new();

        /// <summary><c>/envs/*</c> (seed 001): no limit in its seed, so the default.</summary>
        public DialectRateLimit Envs { get; set; } = new();

        /// <summary><c>/v2/*</c>: seed 002's 100 requests a minute.</summary>
        public DialectRateLimit V2 { get; set; } = new() { RequestsPerMinute = 100 };
    }

    public sealed class DialectRateLimit
    {
        /// <summary>Requests per key per minute on the dialect's routes; unset: <c>rateLimit.requestsPerMinute</c>; 0: off.</summary>
        public int? RequestsPerMinute { get; set; }
    }

    public sealed class DurableTaskHostOptions
    {
        public string HubName { get; set; } = "EnvFabric";

        public int MaxConcurrentActivityFunctions { get; set; } = 10;

        public int MaxConcurrentOrchestratorFunctions { get; set; } = 100;

        public bool ExtendedSessionsEnabled { get; set; }

        public int ExtendedSessionIdleTimeoutInSeconds { get; set; } = 30;

        /// <summary>One app lease per hub (Durable Functions' default is on; off here: several hosts share the hub's partitions).</summary>
        public bool UseAppLease { get; set; }

        public StorageProviderOptions StorageProvider { get; set; } = new();
    }

    public sealed class StorageProviderOptions
    {
        public int PartitionCount { get; set; } = 4;

        /// <summary>Durable Functions defaults to 30 s; 1 s keeps local latency low.</summary>
        public TimeSpan MaxQueuePollingInterval { get; set; } = TimeSpan.FromSeconds(1);

        public int ControlQueueBatchSize { get; set; } = 32;

        public TimeSpan PartitionLeaseInterval { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>
        /// Durable Functions defaults both to 5 min. They bound how long work held by a host that died waits
        /// before another host (or the restarted one) takes it; 30 s here.
        /// </summary>
        public TimeSpan ControlQueueVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

        public TimeSpan WorkItemQueueVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);
    }
}
