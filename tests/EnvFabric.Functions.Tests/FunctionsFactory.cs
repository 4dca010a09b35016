using EnvFabric.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace EnvFabric.Functions.Tests;

/// <summary>
/// The host in memory, on Azurite, with its own share directory and settings. Settings given here are added
/// last, so they win over host.json and any local.settings.json on the developer's machine.
/// </summary>
public sealed class FunctionsFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public FunctionsFactory(AzuriteFixture azurite, IDictionary<string, string?>? settings = null)
    {
        ArgumentNullException.ThrowIfNull(azurite);
        Share = new TempDirectory("envfabric-share");
        HubName = "hub" + AzuriteFixture.UniqueName("h");
        _settings = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["DATA_ROOT"] = Share.Path,
            ["FUNCTIONS_MASTER_KEY"] = MasterKey,
            ["AzureFunctionsJobHost:extensions:durableTask:hubName"] = HubName,
            ["ENVFABRIC_STORAGE_PREFIX"] = AzuriteFixture.UniqueName("p"),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public const string MasterKey = "test-master-key-0123456789abcdef";

    public TempDirectory Share { get; }

    public string HubName { get; }

    public HttpClient CreateKeyedClient(string? key = MasterKey)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("x-functions-key", key);
        }

        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.UseEnvironment("Development");
        builder.ConfigureAppConfiguration(config => config.AddInMemoryCollection(_settings));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Share.Dispose();
        }
    }
}
