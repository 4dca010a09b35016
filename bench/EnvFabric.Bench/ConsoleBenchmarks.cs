using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;
using Microsoft.Extensions.Options;

namespace EnvFabric.Bench;

/// <summary>
/// <c>console</c>: the web console's page loads in chromium (console/bench/pages.mjs) against the real host and
/// runner with 1,000 tasks and 200 environments (written straight to their tables, plus one real environment and
/// task), each page loaded five times in a fresh browser context after a warm-up.
/// <list type="bullet">
/// <item><c>console.page_ms.{page}.p50</c> and <c>.max</c>: from the navigation's start to the last response the
/// page asked for.</item>
/// <item><c>console.page_ms.p50_max</c>: the slowest page's median (the goal is under 1,000).</item>
/// </list>
/// Needs the console built (console/dist) and chromium, as ./test does.
/// </summary>
public sealed class ConsoleBenchmarks : IBenchmarkSuite
{
    private const string Environment = "bench";

    public string Name => "console";

    public async Task RunAsync(BenchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var console = Path.Combine(RepositoryRoot(), "console");
        if (!File.Exists(Path.Combine(console, "dist", "index.html")))
        {
            throw new InvalidOperationException("the console is not built: npm ci and npm run build in console/ (./test does both)");
        }

        using var host = await BenchHost.StartAsync(
            context, "console", [new Testing.WheelSpec("wone", "1.0")], new Dictionary<string, string> { ["CONSOLE_ROOT"] = Path.Combine(console, "dist") });
        await Expect(await host.Client.PostAsJsonAsync("/api/conda/environment", new { name = Environment, python_version = "3.11", packages = new[] { "wone" } }), HttpStatusCode.Created, "create environment");
        var taskId = await TaskBenchmarks.CreateTaskAsync(host.Client, "bench-console", "print('hello')\n", new() { ["cron_expression"] = "0 0 1 1 *" }, Environment);
        await BenchEnvironments.FillAsync(context.StorageConnectionString, host.Prefix, "listed", 199);
        var repository = new TableTaskRepository(
            StorageAccount.FromConnectionString(context.StorageConnectionString),
            new StorageNames(Options.Create(new EnvFabricOptions { StoragePrefix = host.Prefix })),
            TimeProvider.System);
        await BenchTasks.FillAsync(repository, 1000, "0 0 1 1 *", id => new TaskRecord { TaskId = id, Name = "listed" + id.ToString(CultureInfo.InvariantCulture), Environment = Environment });

        string[] pages =
        [
            "dashboard=/", "environments=/environments", "environment=/environments/" + Environment, "tasks=/tasks", "task=/tasks/" + taskId.ToString(CultureInfo.InvariantCulture),
            "projects=/projects", "audit=/audit", "settings=/settings", "orchestrations=/orchestrations",
        ];
        var times = await RunPagesAsync(console, host.Client.BaseAddress!.ToString().TrimEnd('/'), BenchHost.Key, pages);
        var medians = new List<double>();
        foreach (var (page, values) in times)
        {
            var p50 = BenchmarkSuites.Percentile(values, 50);
            medians.Add(p50);
            context.Report($"console.page_ms.{page}.p50", p50);
            context.Report($"console.page_ms.{page}.max", values.Max());
        }

        context.Report("console.page_ms.p50_max", medians.Max());
    }

    private static async Task<Dictionary<string, List<double>>> RunPagesAsync(string console, string baseUrl, string key, string[] pages)
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = console, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine("bench", "pages.mjs"));
        start.Environment["BASE_URL"] = baseUrl;
        start.Environment["KEY"] = key;
        start.Environment["PAGES"] = string.Join(',', pages);
        start.Environment["RUNS"] = "5";
        using var node = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var errors = node.StandardError.ReadToEndAsync();
        var times = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        while (await node.StandardOutput.ReadLineAsync() is { } line)
        {
            // page=<name> ms=<value>
            var parts = line.Split(' ');
            if (parts.Length == 2 && parts[0].StartsWith("page=", StringComparison.Ordinal) && parts[1].StartsWith("ms=", StringComparison.Ordinal))
            {
                var name = parts[0][5..];
                var value = double.Parse(parts[1][3..], CultureInfo.InvariantCulture);
                (times.TryGetValue(name, out var list) ? list : times[name] = []).Add(value);
            }
        }

        await node.WaitForExitAsync();
        if (node.ExitCode != 0)
        {
            throw new InvalidOperationException($"console/bench/pages.mjs exited with {node.ExitCode}: {await errors}");
        }

        return times;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EnvFabric.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (EnvFabric.slnx) was not found above " + AppContext.BaseDirectory);
    }

    private static async Task Expect(HttpResponseMessage response, HttpStatusCode status, string what)
    {
        using (response)
        {
            if (response.StatusCode != status)
            {
                throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }
    }
}
