using EnvFabric.Core.Configuration;
using EnvFabric.Functions;
using EnvFabric.Functions.Extensions;

// A wrong setting stops the host with one line naming it, not a stack trace.
return await StartupFailure.RunAsync(typeof(Program).Assembly, async () =>
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddFunctionsHost();
    builder.AddFunctionKeys();
    builder.AddFunctionsHttpLimits();
    builder.AddFunctionsCompression();
    builder.AddFunctionsOpenApi();
    builder.AddDurableTaskHost();
    builder.AddEnvironments();
    builder.AddTasks();
    builder.AddV2();
    builder.AddPools();
    builder.AddQueues();
    builder.AddBackup();
    builder.AddProjects();
    builder.AddConsistency();
    builder.AddSystemMonitor();
    builder.AddSettings();

    var app = builder.Build();
    StartupFailure.ValidateSettings(app.Services, typeof(Program).Assembly);

    // The TASK_* and CALLBACK_* settings, read now so a wrong one stops the host before any hosted service logs it.
    _ = app.Services.GetRequiredService<TaskOptions>();

    // pools.json, read now so a bad file stops the host with one line naming it.
    _ = app.Services.GetRequiredService<EnvFabric.Core.Pools.IPoolConfiguration>();
    app.UseFunctionsCompression();
    app.UseFunctionsHost();
    app.UseConsole();
    app.UseAuthentication();
    app.UseFunctionsHttpLimits();
    app.UseAuthorization();
    app.UseFunctionKeys();

    var root = app.MapFunctionsRoot();
    root.MapHealthFunctions();
    root.MapAuthFunctions();
    root.MapKeysFunctions();
    root.MapCondaEnvironmentFunctions();
    root.MapAuditFunctions();
    root.MapTaskFunctions();
    root.MapCallbackFunctions();
    root.MapV2TemplateFunctions();
    root.MapV2TaskFunctions();
    root.MapV2InstanceFunctions();
    root.MapV2StatusFunctions();
    root.MapV2QueueFunctions();
    root.MapV2ConfigFunctions();
    root.MapProjectFunctions();
    root.MapSettingsFunctions();
    root.MapFabricEnvironmentFunctions();
    root.MapBackupFunctions();
    root.MapConsistencyFunctions();
    root.MapMonitorFunctions();
    root.MapPythonVersionFunctions();
    app.MapOpenApiFunctions();
    app.MapDurableManagementFunctions();

    await app.RunAsync();
});

/// <summary>Entry point, visible to <c>WebApplicationFactory</c>.</summary>
public partial class Program;
