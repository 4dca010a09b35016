using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EnvFabric.Core.Runner;

/// <summary>
/// Health of the runner fleet for <c>/api/health</c> (with the live runners of each pool in its data): healthy while at least one runner heartbeats; the
/// registration's failure status when none does; degraded when a live runner reports a configuration warning
/// (e.g. the uv cache on another file system than the environments).
/// </summary>
public sealed class RunnerHealthCheck(IRunnerRegistry registry, TimeProvider time) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var now = time.GetUtcNow();
        IReadOnlyList<RunnerInfo> runners;
        try
        {
            runners = await registry.GetRunnersAsync(cancellationToken);
        }
        catch (Azure.RequestFailedException ex)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "runners table unreachable: " + ex.Message, ex);
        }

        var alive = runners.Where(r => r.IsAlive(now, RunnerDefaults.StaleAfter)).ToList();
        var data = new Dictionary<string, object>
        {
            ["runners"] = alive.Count,
            ["active_jobs"] = alive.Sum(r => r.ActiveJobs),
            ["backends"] = alive.SelectMany(r => r.Capabilities.Backends).Distinct().Select(b => b.ToString().ToLowerInvariant()).ToArray(),
            ["pools"] = alive.GroupBy(r => r.Pool, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
        };
        var quotas = alive.Select(r => r.Capabilities.Quotas).OfType<string>().Distinct().ToArray();
        if (quotas.Length > 0)
        {
            data["quotas"] = quotas;
        }

        if (alive.Count == 0)
        {
            var last = runners.Count == 0 ? "no runner has registered" : $"last runner heartbeat at {runners.Max(r => r.LastHeartbeat):O}";
            return new HealthCheckResult(context.Registration.FailureStatus, $"no runner heartbeat within {RunnerDefaults.StaleAfter.TotalSeconds:0} s ({last})", data: data);
        }

        var warnings = alive.SelectMany(r => r.Capabilities.Warnings).Distinct().ToArray();
        if (warnings.Length > 0)
        {
            data["warnings"] = warnings;
            return HealthCheckResult.Degraded(string.Join("; ", warnings), data: data);
        }

        return HealthCheckResult.Healthy($"{alive.Count} runner(s) alive", data);
    }
}
