using System.Text.Json;
using EnvFabric.Functions.Http;
using Microsoft.AspNetCore.Http;

namespace EnvFabric.Functions.Tests;

public sealed class ErrorBodiesTests
{
    private static readonly JsonSerializerOptions Snake = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    [Fact]
    public void CondaError_Serialized_LeadsWithSuccessAsTheSeedsDo()
    {
        var json = JsonSerializer.Serialize(new CondaError("Task with ID 1 not found", null), Snake);

        Assert.StartsWith("{\"success\":false,\"message\":\"Task with ID 1 not found\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void V2Error_Serialized_HasCodeMessageSuccessDataInOrder()
    {
        var json = JsonSerializer.Serialize(new V2Error(V2Codes.TaskNotFound, "task not found"), Snake);

        Assert.Equal("{\"code\":\"1002\",\"message\":\"task not found\",\"success\":false,\"data\":null}", json);
    }

    [Theory]
    [InlineData(FabricCodes.InvalidPackages, 400)]
    [InlineData(FabricCodes.EnvNotFound, 404)]
    [InlineData(FabricCodes.EnvAlreadyExists, 409)]
    [InlineData(FabricCodes.PackageResolutionFailed, 422)]
    [InlineData(FabricCodes.EnvLocked, 423)]
    [InlineData(FabricCodes.DbAuditError, 500)]
    [InlineData(FabricCodes.UvExecutionError, 500)]
    [InlineData(FabricCodes.ExecutionTimeout, 504)]
    public void FabricStatus_SeedTableCode_MapsToItsHttpStatus(string code, int status) =>
        Assert.Equal(status, ErrorBodies.FabricStatus(code));

    [Theory]
    [InlineData("/envs/w/n/deps", Dialect.Fabric)]
    [InlineData("/v2/tasks", Dialect.V2)]
    [InlineData("/api/conda/environments", Dialect.Conda)]
    [InlineData("/api/tasks/1", Dialect.Conda)]
    public void DialectOf_Path_PicksTheSeedDialect(string path, Dialect dialect) =>
        Assert.Equal(dialect, ErrorBodies.DialectOf(new PathString(path)));
}
