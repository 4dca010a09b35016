using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Runner;
using EnvFabric.Runner.Processes;

namespace EnvFabric.Runner.Discovery;

/// <summary>
/// Finds the runner's tools at start: uv, micromamba, mamba, conda on PATH, and Python interpreters on PATH and
/// under pyenv; asks each backend which Python versions it offers.
/// </summary>
public sealed class ToolDiscovery(RunnerOptions options, DataPaths paths, ProcessRunnerSettings processes, ILogger<ToolDiscovery> logger)
{
    private static readonly string[] CondaTools = ["micromamba", "mamba", "conda"];
    private static readonly string[] AllTools = ["uv", .. CondaTools];
    private static readonly string[] PythonNames = ["python3", .. Enumerable.Range(6, 9).Select(m => $"python3.{m}")];

    public async Task<RunnerCapabilities> DiscoverAsync(CancellationToken cancellationToken)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        var tools = new List<RunnerTool>();
        foreach (var name in AllTools)
        {
            if (FindOnPath(name, path) is { } found)
            {
                var version = await RunAsync(found, ["--version"], TimeSpan.FromSeconds(10), cancellationToken);
                tools.Add(new RunnerTool(name, found, version?.Trim()));
            }
        }

        var pythons = await FindPythonsAsync(path, cancellationToken);
        var versions = new Dictionary<string, IReadOnlyList<string>>();
        var backends = new List<EnvironmentBackend>();
        var warnings = new List<string>();
        if (pythons.Count > 0)
        {
            backends.Add(EnvironmentBackend.Venv);
            versions["venv"] = SortVersions(pythons.Select(p => p.Version));
        }

        if (tools.FirstOrDefault(t => t.Name == "uv") is { } uv)
        {
            backends.Add(EnvironmentBackend.Uv);
            var json = await RunAsync(uv.Path, ["python", "list", "--output-format", "json"], TimeSpan.FromSeconds(30), cancellationToken);
            versions["uv"] = json is null ? [] : SortVersions(Backends.UvFormats.ParsePythonList(json));
        }

        var conda = CondaTools.Select(n => tools.FirstOrDefault(t => t.Name == n)).FirstOrDefault(t => t is not null);
        if (conda is not null)
        {
            backends.Add(EnvironmentBackend.Conda);
            var json = await RunAsync(conda.Path, ["search", "python", "--json"], TimeSpan.FromSeconds(60), cancellationToken);
            versions["conda"] = json is null ? [] : SortVersions(Backends.CondaFormats.ParseSearchVersions(json));
        }

        var mountWarning = MountInfo.SameMountWarning(MountInfo.Current(), paths.UvCache, paths.Envs);
        if (mountWarning is not null)
        {
            warnings.Add(mountWarning);
            logger.ConfigurationWarning(mountWarning);
        }

        var quotas = QuotaMechanism.Describe(processes.Cores, processes.QuotaSampleInterval);
        logger.QuotaMechanism(quotas);
        return new RunnerCapabilities
        {
            Quotas = quotas,
            Tools = tools,
            Pythons = pythons,
            Backends = backends,
            PythonVersions = versions,
            CondaTool = conda?.Path,
            Warnings = warnings,
        };
    }

    public static string? FindOnPath(string name, string pathVariable)
    {
        foreach (var dir in (pathVariable ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private async Task<List<PythonInterpreter>> FindPythonsAsync(string pathVariable, CancellationToken cancellationToken)
    {
        var found = new List<PythonInterpreter>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pyenv = options.PyenvRoot ?? Environment.GetEnvironmentVariable("PYENV_ROOT") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".pyenv");
        var candidates = new List<(string Path, string Source)>();
        if (Directory.Exists(Path.Combine(pyenv, "versions")))
        {
            candidates.AddRange(Directory.GetDirectories(Path.Combine(pyenv, "versions")).Order(StringComparer.Ordinal)
                .Select(d => (Path.Combine(d, "bin", "python"), "pyenv")));
        }

        // Interpreters uv installed on the share (UV_PYTHON_INSTALL_DIR): the same path on every runner.
        if (Directory.Exists(paths.Python))
        {
            candidates.AddRange(Directory.GetDirectories(paths.Python).Order(StringComparer.Ordinal)
                .Select(d => (Path.Combine(d, "bin", "python3"), "uv")));
        }

        foreach (var dir in pathVariable.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            // pyenv's shims dispatch to the versions listed above.
            if (dir.Contains("/shims", StringComparison.Ordinal))
            {
                continue;
            }

            candidates.AddRange(PythonNames
                .Select(n => Path.Combine(dir, n)).Where(File.Exists).Select(p => (p, "path")));
        }

        var probes = candidates.Where(c => File.Exists(c.Path)).Select(async c =>
        {
            var version = await RunAsync(c.Path, ["-c", "import sys, venv; print('%d.%d.%d' % sys.version_info[:3])"], TimeSpan.FromSeconds(10), cancellationToken);
            return (c.Path, c.Source, Version: version?.Trim());
        }).ToList();
        foreach (var probe in await Task.WhenAll(probes))
        {
            if (probe.Version is not { Length: > 0 } v || !v.StartsWith('3'))
            {
                continue;
            }

            var real = new FileInfo(probe.Path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? probe.Path;
            if (seen.Add(real))
            {
                found.Add(new PythonInterpreter(v, probe.Path, probe.Source));
            }
        }

        return found;
    }

    private static List<string> SortVersions(IEnumerable<string> versions) =>
        versions.Distinct().OrderByDescending(v => Version.TryParse(v, out var parsed) ? parsed : new Version(0, 0)).ToList();

    private async Task<string?> RunAsync(string file, string[] args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        try
        {
            using var process = Process.Start(start)!;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(timeout);
            var output = process.StandardOutput.ReadToEndAsync(cts.Token);
            _ = process.StandardError.ReadToEndAsync(cts.Token);
            await process.WaitForExitAsync(cts.Token);
            var text = await output;
            return process.ExitCode == 0 ? text : null;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or OperationCanceledException or InvalidOperationException)
        {
            logger.ProbeFailed(file, string.Join(' ', args), ex.Message);
            return null;
        }
    }

    /// <summary>The interpreter for a requested version: exact (3.11.7) or by prefix (3.11 picks the newest 3.11.x).</summary>
    public static PythonInterpreter? Resolve(IEnumerable<PythonInterpreter> pythons, string requested)
    {
        ArgumentNullException.ThrowIfNull(pythons);
        return pythons
            .Where(p => p.Version == requested || p.Version.StartsWith(requested + ".", StringComparison.Ordinal))
            .OrderByDescending(p => Version.TryParse(p.Version, out var v) ? v : new Version(0, 0))
            .ThenBy(p => p.Source == "path" ? 0 : 1)
            .FirstOrDefault();
    }

    internal static string FormatInvariant(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    internal static JsonDocument? TryParseJson(string text)
    {
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
