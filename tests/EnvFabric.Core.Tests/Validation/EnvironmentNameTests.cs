using EnvFabric.Core.Validation;

namespace EnvFabric.Core.Tests.Validation;

public sealed class EnvironmentNameTests
{
    [Theory]
    [InlineData("ml_env")]
    [InlineData("data-science.v2")]
    [InlineData("A")]
    [InlineData("workflow123_node123_v1")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123")]
    public void Validate_GoodName_ReturnsNull(string name)
    {
        Assert.Null(EnvironmentName.Validate(name));
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData("a..b")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData(".hidden")]
    [InlineData("-rf")]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    [InlineData("ünicode")]
    [InlineData("tab\tname")]
    [InlineData("01234567890123456789012345678901234567890123456789012345678901234")]
    public void Validate_BadName_ReturnsReason(string? name)
    {
        Assert.NotNull(EnvironmentName.Validate(name));
    }

    [Fact]
    public void Validate_PathSeparator_SaysSo()
    {
        Assert.Contains("path separators", EnvironmentName.Validate("../x"), StringComparison.Ordinal);
    }

    [Fact]
    public void FabricId_ValidIds_MapToEnvironmentName()
    {
        var result = FabricEnvironmentId.Create("workflow123", "node123", "v1");

        Assert.True(result.IsValid, result.Error);
        Assert.Equal("workflow123_node123_v1", result.Id!.EnvironmentName);
        Assert.Equal("workflow123-node123", result.Id.ProjectName);
        Assert.True(EnvironmentName.IsValid(result.Id.EnvironmentName));
    }

    [Fact]
    public void FabricId_NoVersion_UsesDefault()
    {
        Assert.Equal("w_n_v1", FabricEnvironmentId.Create("w", "n", null).Id!.EnvironmentName);
    }

    [Theory]
    [InlineData("", "n", "v1")]
    [InlineData("w", null, "v1")]
    [InlineData("a_b", "n", "v1")]
    [InlineData("../w", "n", "v1")]
    [InlineData("w", "n/x", "v1")]
    [InlineData("w", "n", "..")]
    [InlineData("w", "-n", "v1")]
    [InlineData("012345678901234567890", "n", "v1")]
    public void FabricId_BadIds_AreRefused(string? workflow, string? node, string? version)
    {
        var result = FabricEnvironmentId.Create(workflow, node, version);

        Assert.False(result.IsValid);
        Assert.NotNull(result.Error);
    }

    [Fact]
    public void FabricId_LongestIds_StillMakeAValidName()
    {
        var id = new string('a', FabricEnvironmentId.MaxIdLength);

        var result = FabricEnvironmentId.Create(id, id, id);

        Assert.True(EnvironmentName.IsValid(result.Id!.EnvironmentName));
    }
}
