using EnvFabric.Core.Runner;
using EnvFabric.Core.Settings;

namespace EnvFabric.Core.Tests.Settings;

public sealed class SettingsRulesTests
{
    [Theory]
    [InlineData("API_TOKEN")]
    [InlineData("_private")]
    [InlineData("a1")]
    public void NameProblem_EnvironmentVariableName_IsNull(string name) => Assert.Null(VariableRules.NameProblem(name));

    [Theory]
    [InlineData("")]
    [InlineData("1ABC")]
    [InlineData("A-B")]
    [InlineData("A B")]
    [InlineData("Ä")]
    [InlineData("PATH")]
    [InlineData("path")]
    [InlineData("VIRTUAL_ENV")]
    [InlineData("CONDA_PREFIX")]
    [InlineData("PYTHONHOME")]
    [InlineData("HOME")]
    [InlineData("ENVFABRIC_OUTPUT_DIR")]
    public void NameProblem_BadOrReserved_IsReported(string name) => Assert.NotNull(VariableRules.NameProblem(name));

    [Fact]
    public void NameAndValueLimits_AtAndPastTheBound()
    {
        Assert.Null(VariableRules.NameProblem(new string('A', VariableRules.MaxNameLength)));
        Assert.NotNull(VariableRules.NameProblem(new string('A', VariableRules.MaxNameLength + 1)));
        Assert.Null(VariableRules.ValueProblem(new string('x', VariableRules.MaxValueBytes)));
        Assert.NotNull(VariableRules.ValueProblem(new string('x', VariableRules.MaxValueBytes + 1)));
        Assert.NotNull(VariableRules.ValueProblem(new string('é', (VariableRules.MaxValueBytes / 2) + 1)));
        Assert.NotNull(VariableRules.ValueProblem(null));
        Assert.NotNull(VariableRules.ValueProblem("a\0b"));
        Assert.Null(VariableRules.ValueProblem(""));
    }

    [Fact]
    public void VariableScope_KeysRoundTrip()
    {
        Assert.Equal("system", VariableScope.System.Key);
        Assert.Equal("ns:team-a", VariableScope.ForNamespace("team-a").Key);
        Assert.Equal("task:12", VariableScope.ForTask(12).Key);
        Assert.Equal(VariableScope.ForTask(12), VariableScope.FromKey("task:12"));
        Assert.Equal("team-a", VariableScope.FromKey("ns:team-a")!.Namespace);
        Assert.Same(VariableScope.System, VariableScope.FromKey("system"));
        Assert.Null(VariableScope.FromKey("task:0"));
        Assert.Null(VariableScope.FromKey("other"));
    }

    [Fact]
    public void PackageIndexProblem_ValidForms_AreAccepted()
    {
        Assert.Null(PackageIndexRules.Problem(new PackageIndex()));
        Assert.Null(PackageIndexRules.Problem(new PackageIndex
        {
            IndexUrl = "https://pypi.internal/simple",
            ExtraIndexUrls = ["http://10.0.0.5:8080/simple/"],
            FindLinks = ["/srv/wheels", "file:///srv/wheels", "https://example.com/wheels/"],
            TrustedHosts = ["pypi.internal", "10.0.0.5:8080", "[::1]:3141", "[::1]"],
            NoIndex = true,
        }));
    }

    [Theory]
    [InlineData("ftp://mirror/simple", null, null, null, "index_url")]
    [InlineData("pypi.org/simple", null, null, null, "index_url")]
    [InlineData("--index-url=https://x", null, null, null, "index_url")]
    [InlineData(null, "not a url", null, null, "extra_index_urls")]
    [InlineData(null, "file:///srv", null, null, "extra_index_urls")]
    [InlineData(null, null, "relative/dir", null, "find_links")]
    [InlineData(null, null, "/srv/../etc", null, "find_links")]
    [InlineData(null, null, "ftp://x/wheels", null, "find_links")]
    [InlineData(null, null, null, "host:99999", "trusted_hosts")]
    [InlineData(null, null, null, "http://host", "trusted_hosts")]
    [InlineData(null, null, null, "bad host", "trusted_hosts")]
    public void PackageIndexProblem_Invalid_NamesTheField(string? index, string? extra, string? link, string? host, string field)
    {
        var problem = PackageIndexRules.Problem(new PackageIndex
        {
            IndexUrl = index,
            ExtraIndexUrls = extra is null ? [] : [extra],
            FindLinks = link is null ? [] : [link],
            TrustedHosts = host is null ? [] : [host],
        });
        Assert.NotNull(problem);
        Assert.StartsWith(field, problem, StringComparison.Ordinal);
    }
}
