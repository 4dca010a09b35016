using EnvFabric.Functions.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddFunctionsHost();

var app = builder.Build();
app.UseFunctionsHost();

var root = app.MapFunctionsRoot();
root.MapHealthFunctions();

app.Run();

/// <summary>Entry point, visible to <c>WebApplicationFactory</c>.</summary>
public partial class Program;
