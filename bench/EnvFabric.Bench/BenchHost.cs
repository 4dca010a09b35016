using System.Diagnostics;
using System.Net;
using Azure.Data.Tables;
using EnvFabric.Testing;

namespace EnvFabric.Bench;

/// <summary>
/// The functions host and the runner as child processes (real Kestrel, real runner) on the bench's Azurite, with
/// the venv backend and a local wheelhouse, and an authenticated client on the host.
/// </summary>
public sealed class BenchHost : IDisposable
{
    /// <summary>The master key the host is started with.</summary>
    public const string Key = "bench-master-key-0123456789abcdef";

    private BenchHost(TempDirectory share, string prefix, string hubName, Process functions, Process runner, HttpClient client)
    {
        Share = share;
        Prefix = prefix;
        HubName = hubName;
        Functions = functions;
        Runner = runner;
        Client = client;
    }

    public TempDirectory Share { get; }

    /// <summary>The deployment's storage prefix (its tables are <c>{Prefix}Tasks</c> and so on).</summary>
    public string Prefix { get; }

    /// <summary>The durable hub's name as the host uses it, prefix included (its instances are in <c>{HubName}Instances</c>).</summary>
    public string HubName { get; }

    public Process Functions { get; }

    public Process Runner { get; }

    /// <summary>A client on the host carrying the master key.</summary>
    public HttpClient Client { get; }

    /// <summary>Starts both processes with <paramref name="wheels"/> in the wheelhouse and waits until the host answers and the runner has registered.</summary>
    public static async Task<BenchHost> StartAsync(BenchContext context, string name, IReadOnlyList<WheelSpec> wheels, IReadOnlyDictionary<string, string>? extraSettings = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var share = new TempDirectory("envfabric-bench-" + name);
        var wheelhouse = Path.Combine(share.Path, "wheelhouse");
        Wheelhouse.Create(wheelhouse, [.. wheels]);
        var prefix = AzuriteFixture.UniqueName("v");
        var hubName = "b" + name + Guid.NewGuid().ToString("N")[..10];
        var port = AzuriteFixture.FreePort();
        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = context.StorageConnectionString,
            ["DATA_ROOT"] = Path.Combine(share.Path, "data"),
            ["ENVFABRIC_STORAGE_PREFIX"] = prefix,
            ["AzureFunctionsJobHost__extensions__durableTask__hubName"] = hubName,
            ["AzureFunctionsJobHost__extensions__http__rateLimit__requestsPerMinute"] = "0",
            ["FUNCTIONS_MASTER_KEY"] = Key,
            ["PIP_NO_INDEX"] = "true",
            ["PIP_FIND_LINKS"] = wheelhouse,
            ["ENV_BACKEND"] = "venv",
            ["CLEANUP_IDLE_HOURS"] = "0",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }

        var functions = Start("EnvFabric.Functions.dll", settings);
        var runner = Start("EnvFabric.Runner.dll", settings);
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(5) };
        client.DefaultRequestHeaders.Add("x-functions-key", Key);
        var host = new BenchHost(share, prefix, prefix + hubName, functions, runner, client);
        try
        {
            await host.WaitReadyAsync(context.StorageConnectionString);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        DotnetProcess.Kill(Functions);
        DotnetProcess.Kill(Runner);
        Functions.Dispose();
        Runner.Dispose();
        Client.Dispose();
        Share.Dispose();
    }

    private static Process Start(string dll, Dictionary<string, string> settings) =>
        DotnetProcess.Start(dll, settings, RepoPaths.Root, line => Console.Error.WriteLine($"[{dll}] {line}"));

    private async Task WaitReadyAsync(string storage)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        var runners = new TableClient(storage, Prefix + "Runners");
        while (DateTime.UtcNow < deadline)
        {
            if (Functions.HasExited || Runner.HasExited)
            {
                throw new InvalidOperationException("the host or the runner exited during start-up");
            }

            try
            {
                using var response = await Client.GetAsync(new Uri("/api/conda/environments", UriKind.Relative));
                var registered = false;
                await foreach (var _ in runners.QueryAsync<TableEntity>(maxPerPage: 1))
                {
                    registered = true;
                    break;
                }

                if (response.StatusCode == HttpStatusCode.OK && registered)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or Azure.RequestFailedException or TaskCanceledException)
            {
                // Not listening or not registered yet.
            }

            await Task.Delay(250);
        }

        throw new TimeoutException("the host and runner were not ready within 120 s");
    }
}
