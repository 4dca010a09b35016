using System.Globalization;
using Azure.Data.Tables;
using DurableTask.AzureStorage;
using EnvFabric.Durable;
using EnvFabric.Durable.TestWorker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Usage: EnvFabric.Durable.TestWorker <storage connection string> <hub> <effects table> <partition lease seconds>
// Visibility timeouts stay at the engine's defaults (30 s): recovery after a SIGKILL is bounded by them.
if (args.Length != 4)
{
    Console.Error.WriteLine("usage: EnvFabric.Durable.TestWorker <storage> <hub> <effects table> <lease seconds>");
    return 2;
}

var (storage, hub, effects, leaseSeconds) = (args[0], args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture));
var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSingleton(new EffectLog(new TableServiceClient(storage).GetTableClient(effects)));
builder.Services.AddDurableTask(
    o =>
    {
        o.HubName = hub;
        o.PartitionCount = 4;
        o.MaxQueuePollingInterval = TimeSpan.FromMilliseconds(250);
        o.PartitionLeaseInterval = TimeSpan.FromSeconds(leaseSeconds);
        o.StorageAccount = new StorageAccountClientProvider(storage);
    },
    CrashTasks.Register);
using var host = builder.Build();
await host.StartAsync();

// The worker may start in the background: "ready" once it runs (the test gives up after its own bound).
var status = host.Services.GetRequiredService<IDurableWorkerStatus>();
while (!status.IsRunning)
{
    await Task.Delay(100);
}

Console.WriteLine("ready " + status.WorkerId);
await host.WaitForShutdownAsync();
return 0;
