using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using EnvFabric.Durable;
using EnvFabric.Durable.TestWorker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Usage: EnvFabric.Durable.TestWorker <storage connection string> <hub> <effects file>
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: EnvFabric.Durable.TestWorker <storage> <hub> <effects file>");
    return 2;
}

var (storage, hub, effects) = (args[0], args[1], args[2]);
var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSingleton(new EffectLog(effects));
builder.Services.AddDurableTask(
    o =>
    {
        o.HubName = hub;
        o.PartitionCount = 4;
        o.MaxQueuePollingInterval = TimeSpan.FromMilliseconds(250);
        o.PartitionLeaseInterval = TimeSpan.FromSeconds(2);
        o.ControlQueueVisibilityTimeout = TimeSpan.FromSeconds(4);
        o.WorkItemVisibilityTimeout = TimeSpan.FromSeconds(4);
        o.BlobServiceClient = new BlobServiceClient(storage);
        o.QueueServiceClient = new QueueServiceClient(storage, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });
        o.TableServiceClient = new TableServiceClient(storage);
    },
    CrashTasks.Register);
using var host = builder.Build();
await host.StartAsync();
Console.WriteLine("ready");
await host.WaitForShutdownAsync();
return 0;
