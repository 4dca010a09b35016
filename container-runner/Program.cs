using EnvFabric.Runner.Extensions;

var builder = Host.CreateApplicationBuilder(args);
builder.AddRunner();
var host = builder.Build();
await host.RunAsync();
