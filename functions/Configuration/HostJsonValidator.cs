using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace EnvFabric.Functions.Configuration;

/// <summary>Checks host.json at start-up; each failure names the key as written in host.json.</summary>
public sealed partial class HostJsonValidator : IValidateOptions<HostJsonOptions>
{
    public ValidateOptionsResult Validate(string? name, HostJsonOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        var durable = options.Extensions.DurableTask;
        var provider = durable.StorageProvider;

        Check(options.Version == "2.0", "version", $"must be \"2.0\" (was \"{options.Version}\")");
        Check(options.FunctionTimeout > TimeSpan.Zero && options.FunctionTimeout <= TimeSpan.FromDays(1), "functionTimeout", $"must be between 00:00:01 and 1.00:00:00 (was {options.FunctionTimeout})");
        Check(options.Extensions.Http.RoutePrefix.Length == 0 || RoutePrefixPattern().IsMatch(options.Extensions.Http.RoutePrefix), "extensions.http.routePrefix", "must be empty or a path segment of letters, digits, '-' and '_'");
        Check(options.Extensions.Http.MaxConcurrentRequests is >= 1 and <= 10_000, "extensions.http.maxConcurrentRequests", $"must be between 1 and 10000 (was {options.Extensions.Http.MaxConcurrentRequests})");
        var rateLimit = options.Extensions.Http.RateLimit;
        foreach (var (key, value) in new[] { ("", (int?)rateLimit.RequestsPerMinute), ("api.", rateLimit.Api.RequestsPerMinute), ("envs.", rateLimit.Envs.RequestsPerMinute), ("v2.", rateLimit.V2.RequestsPerMinute) })
        {
            Check(value is null or (>= 0 and <= 1_000_000), $"extensions.http.rateLimit.{key}requestsPerMinute", $"must be between 0 and 1000000 (was {value})");
        }

        Check(HubNamePattern().IsMatch(durable.HubName), "extensions.durableTask.hubName", $"must be 3 to 45 letters and digits starting with a letter (was \"{durable.HubName}\")");
        Check(durable.MaxConcurrentActivityFunctions is >= 1 and <= 1000, "extensions.durableTask.maxConcurrentActivityFunctions", $"must be between 1 and 1000 (was {durable.MaxConcurrentActivityFunctions})");
        Check(durable.MaxConcurrentOrchestratorFunctions is >= 1 and <= 1000, "extensions.durableTask.maxConcurrentOrchestratorFunctions", $"must be between 1 and 1000 (was {durable.MaxConcurrentOrchestratorFunctions})");
        Check(provider.PartitionCount is >= 1 and <= 16, "extensions.durableTask.storageProvider.partitionCount", $"must be between 1 and 16 (was {provider.PartitionCount})");
        Check(provider.MaxQueuePollingInterval >= TimeSpan.FromMilliseconds(50) && provider.MaxQueuePollingInterval <= TimeSpan.FromMinutes(1), "extensions.durableTask.storageProvider.maxQueuePollingInterval", $"must be between 00:00:00.050 and 00:01:00 (was {provider.MaxQueuePollingInterval})");
        Check(provider.ControlQueueBatchSize is >= 1 and <= 32, "extensions.durableTask.storageProvider.controlQueueBatchSize", $"must be between 1 and 32, the queue service's batch limit (was {provider.ControlQueueBatchSize})");
        Check(provider.PartitionLeaseInterval >= TimeSpan.FromSeconds(2) && provider.PartitionLeaseInterval <= TimeSpan.FromMinutes(5), "extensions.durableTask.storageProvider.partitionLeaseInterval", $"must be between 00:00:02 and 00:05:00 (was {provider.PartitionLeaseInterval})");
        Check(provider.ControlQueueVisibilityTimeout >= TimeSpan.FromSeconds(5) && provider.ControlQueueVisibilityTimeout <= TimeSpan.FromDays(1), "extensions.durableTask.storageProvider.controlQueueVisibilityTimeout", $"must be between 00:00:05 and 1.00:00:00 (was {provider.ControlQueueVisibilityTimeout})");
        Check(provider.WorkItemQueueVisibilityTimeout >= TimeSpan.FromSeconds(5) && provider.WorkItemQueueVisibilityTimeout <= TimeSpan.FromDays(1), "extensions.durableTask.storageProvider.workItemQueueVisibilityTimeout", $"must be between 00:00:05 and 1.00:00:00 (was {provider.WorkItemQueueVisibilityTimeout})");
        Check(durable.ExtendedSessionIdleTimeoutInSeconds is >= 1 and <= 3600, "extensions.durableTask.extendedSessionIdleTimeoutInSeconds", $"must be between 1 and 3600 (was {durable.ExtendedSessionIdleTimeoutInSeconds})");

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);

        void Check(bool ok, string key, string message)
        {
            if (!ok)
            {
                errors.Add($"host.json: {key} {message}");
            }
        }
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]{2,44}$")]
    private static partial Regex HubNamePattern();

    [GeneratedRegex("^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")]
    private static partial Regex RoutePrefixPattern();
}
