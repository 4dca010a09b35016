using System.Globalization;
using EnvFabric.Core.Runner;
using Microsoft.Extensions.Options;

namespace EnvFabric.Core.Environments;

/// <summary>
/// What the live runners can do, as the environment API needs it: the default backend (uv when a runner
/// has it, else venv, unless <c>ENV_BACKEND</c> names one) and the Python versions they report.
/// </summary>
public sealed class RunnerCapabilitiesView(IRunnerRegistry registry, IOptions<EnvironmentsOptions> options, TimeProvider time)
{
    /// <summary>The predefined list answered when no runner reports versions (seed 000's fallback).</summary>
    public static readonly IReadOnlyList<string> FallbackVersions = ["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12"];

    /// <summary>Runners that sent a heartbeat recently.</summary>
    public async Task<IReadOnlyList<RunnerInfo>> AliveRunnersAsync(CancellationToken cancellationToken = default)
    {
        IReadOnlyList<RunnerInfo> runners;
        try
        {
            runners = await registry.GetRunnersAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Azure.RequestFailedException)
        {
            return [];
        }

        var now = time.GetUtcNow();
        return runners.Where(r => r.IsAlive(now, RunnerDefaults.StaleAfter)).ToArray();
    }

    /// <summary>The backend a new environment gets when the request names none.</summary>
    public async Task<EnvironmentBackend> DefaultBackendAsync(CancellationToken cancellationToken = default)
    {
        var configured = options.Value.Backend;
        if (configured != "auto")
        {
            return TableEnvironmentRepository.ParseBackend(configured);
        }

        var runners = await AliveRunnersAsync(cancellationToken).ConfigureAwait(false);
        return runners.Any(r => r.Capabilities.Backends.Contains(EnvironmentBackend.Uv)) ? EnvironmentBackend.Uv : EnvironmentBackend.Venv;
    }

    /// <summary>
    /// The Python versions (major.minor) the runners report for the default backend, or for any backend when
    /// that one lists none; <c>Source</c> names the backend, null when no runner answered.
    /// </summary>
    public async Task<(IReadOnlyList<string> Versions, string? Source)> PythonVersionsAsync(CancellationToken cancellationToken = default)
    {
        var runners = await AliveRunnersAsync(cancellationToken).ConfigureAwait(false);
        var preferred = TableEnvironmentRepository.BackendName(await DefaultBackendAsync(cancellationToken).ConfigureAwait(false));
        foreach (var backend in new[] { preferred, "uv", "conda", "venv" }.Distinct())
        {
            var versions = runners
                .SelectMany(r => r.Capabilities.PythonVersions.TryGetValue(backend, out var list) ? list : [])
                .Select(MajorMinor)
                .Where(v => v is not null)
                .Select(v => v!)
                .Distinct()
                .OrderBy(v => Version.Parse(v))
                .ToArray();
            if (versions.Length > 0)
            {
                return (versions, backend);
            }
        }

        return (FallbackVersions, null);
    }

    /// <summary>
    /// Per Python version (major.minor) the live runners that have it, by any backend (an interpreter for venv, uv's
    /// or conda's list), runner ids in order.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> RunnersByVersionAsync(CancellationToken cancellationToken = default)
    {
        var runners = await AliveRunnersAsync(cancellationToken).ConfigureAwait(false);
        return RunnersByVersion(runners);
    }

    /// <summary>The mapping of <see cref="RunnersByVersionAsync"/> over the given runners.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> RunnersByVersion(IEnumerable<RunnerInfo> runners)
    {
        ArgumentNullException.ThrowIfNull(runners);
        return runners
            .SelectMany(r => r.Capabilities.PythonVersions.Values.SelectMany(v => v).Concat(r.Capabilities.Pythons.Select(p => p.Version))
                .Select(MajorMinor).OfType<string>().Distinct().Select(v => (Version: v, r.RunnerId)))
            .GroupBy(x => x.Version, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Select(x => x.RunnerId).Distinct().Order(StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
    }

    /// <summary><c>3.11.7</c> -> <c>3.11</c>; null for text that is not a version.</summary>
    public static string? MajorMinor(string? version)
    {
        if (version is null)
        {
            return null;
        }

        var parts = version.Split('.');
        return parts.Length >= 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
            ? $"{major}.{minor}"
            : null;
    }
}
