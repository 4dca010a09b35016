using EnvFabric.Core.Configuration;
using EnvFabric.Runner.Extensions;

// A wrong setting stops the runner with one line naming it, not a stack trace.
return await StartupFailure.RunAsync(typeof(Program).Assembly, async () =>
{
    var builder = Host.CreateApplicationBuilder(args);
    builder.AddRunner();
    var host = builder.Build();
    StartupFailure.ValidateSettings(host.Services, typeof(Program).Assembly);
    await host.RunAsync();
});
