using EnvFabric.Functions;
using EnvFabric.Functions.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddFunctionsHost();
builder.AddFunctionKeys();
builder.AddFunctionsHttpLimits();
builder.AddFunctionsCompression();
builder.AddFunctionsOpenApi();
builder.AddDurableTaskHost();
builder.AddEnvironments();

var app = builder.Build();
app.UseFunctionsCompression();
app.UseFunctionsHost();
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
root.MapFabricEnvironmentFunctions();
app.MapOpenApiFunctions();
app.MapDurableManagementFunctions();

app.Run();

/// <summary>Entry point, visible to <c>WebApplicationFactory</c>.</summary>
public partial class Program;
