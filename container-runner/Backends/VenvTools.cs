using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using EnvFabric.Runner.Processes;

namespace EnvFabric.Runner.Backends;

/// <summary>
/// A venv's <c>pyvenv.cfg</c> (version, base interpreter) and the pip that installs into it. Venvs are created
/// without pip (ensurepip costs seconds per environment); they are driven by the base interpreter's own pip with
/// <c>pip --python &lt;venv&gt;</c> (pip 22.3 or later), which installs, lists and freezes the venv's packages as its
/// own pip would. A venv that has pip (<c>VENV_WITH_PIP</c>, or made before) uses that one.
/// </summary>
internal static partial class VenvTools
{
    /// <summary>Base interpreters whose pip knows <c>--python</c>, probed once per runner.</summary>
    private static readonly ConcurrentDictionary<string, bool> PipDrivesOthers = new(StringComparer.Ordinal);

    public static Dictionary<string, string> PyvenvCfg(string prefix)
    {
        var path = Path.Combine(prefix, "pyvenv.cfg");
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (!File.Exists(path))
        {
            return values;
        }

        foreach (var line in File.ReadAllLines(path))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                values[line[..eq].Trim()] = line[(eq + 1)..].Trim();
            }
        }

        return values;
    }

    public static string? PythonVersion(string prefix)
    {
        var cfg = PyvenvCfg(prefix);
        return cfg.TryGetValue("version_info", out var info) ? info : cfg.TryGetValue("version", out var version) ? version : null;
    }

    public static string? BaseInterpreter(string prefix)
    {
        var cfg = PyvenvCfg(prefix);
        if (cfg.TryGetValue("executable", out var exe) && File.Exists(exe))
        {
            return exe;
        }

        if (cfg.TryGetValue("home", out var home))
        {
            var version = PythonVersion(prefix);
            var candidates = new[] { version is null ? null : "python" + string.Join('.', version.Split('.').Take(2)), "python3", "python" };
            return candidates.Where(c => c is not null).Select(c => Path.Combine(home, c!)).FirstOrDefault(File.Exists);
        }

        return null;
    }

    /// <summary>
    /// Run by the venv's python (<c>-I</c>: no user site, no working directory on the path; importlib.metadata needs
    /// Python 3.8+): the installed distributions as <c>pip list --format json</c> prints them, and the lock as
    /// <c>pip freeze</c> prints it (<c>name==version</c>, <c>name @ url</c> for direct URLs (PEP 610), sorted by name,
    /// without pip, and without setuptools, distribute and wheel before Python 3.12), in one start instead of two pips.
    /// </summary>
    public const string DescribeScript = """
        import importlib.metadata as m, json, re, sys
        skip = {'pip'} | ({'setuptools', 'distribute', 'wheel'} if sys.version_info < (3, 12) else set())
        seen = {}
        for d in m.distributions():
            name = d.metadata['Name']
            key = re.sub(r'[-_.]+', '-', name or '').lower()
            if not key or key in seen:
                continue
            line = name + '==' + d.version
            url = d.read_text('direct_url.json')
            if url:
                info = json.loads(url)
                vcs = info.get('vcs_info')
                line = name + ' @ ' + (vcs['vcs'] + '+' + info['url'] + '@' + vcs['commit_id'] if vcs else info['url'])
            seen[key] = (name, d.version, line)
        packages = [{'name': n, 'version': v} for n, v, _ in seen.values()]
        freeze = [l for k, (n, _, l) in sorted(seen.items(), key=lambda i: i[1][0].lower()) if k not in skip]
        print(json.dumps({'packages': packages, 'freeze': ''.join(l + '\n' for l in freeze)}))
        """;

    /// <summary>Whether the venv has a pip of its own.</summary>
    public static bool HasOwnPip(string prefix) => File.Exists(Path.Combine(prefix, "bin", "pip"));

    /// <summary>
    /// The argv that runs pip for the venv at <paramref name="prefix"/>: its own pip, else the base interpreter's
    /// pip with <c>--python</c>; null when neither exists (the caller then puts pip into the venv).
    /// </summary>
    public static async Task<string[]?> PipAsync(string prefix, string python, IProcessRunner processes, CancellationToken cancellationToken)
    {
        if (HasOwnPip(prefix))
        {
            return [python, "-m", "pip"];
        }

        var baseInterpreter = BaseInterpreter(prefix);
        if (baseInterpreter is null)
        {
            return null;
        }

        if (!PipDrivesOthers.TryGetValue(baseInterpreter, out var drives))
        {
            var probe = await processes.RunAsync(new ProcessSpec([baseInterpreter, "-m", "pip", "--version"]) { CaptureOutput = true }, cancellationToken);
            drives = probe.Succeeded && PipVersion().Match(probe.Stdout) is { Success: true } m
                && new Version(int.Parse(m.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture), int.Parse(m.Groups[2].ValueSpan, System.Globalization.CultureInfo.InvariantCulture)) >= new Version(22, 3);
            if (!probe.TimedOut && !probe.Cancelled)
            {
                PipDrivesOthers[baseInterpreter] = drives;
            }
        }

        return drives ? [baseInterpreter, "-m", "pip", "--python", python] : null;
    }

    [GeneratedRegex(@"^pip (\d+)\.(\d+)")]
    private static partial Regex PipVersion();
}
