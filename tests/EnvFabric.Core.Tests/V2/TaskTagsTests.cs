using EnvFabric.Core.V2;

namespace EnvFabric.Core.Tests.V2;

public sealed class TaskTagsTests
{
    [Fact]
    public void Parse_ReadsKeyValuePairs()
    {
        var (tags, problem) = TaskTags.Parse("project=ai-models, type=training,path=a/b.c_d");
        Assert.Null(problem);
        Assert.Equal("ai-models", tags!["project"]);
        Assert.Equal("training", tags["type"]);
        Assert.Equal("a/b.c_d", tags["path"]);
        Assert.Equal("path=a/b.c_d,project=ai-models,type=training", TaskTags.Format(tags));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Parse_NothingIsNoTags(string? text) => Assert.Empty(TaskTags.Parse(text).Tags!);

    [Theory]
    [InlineData("novalue", "novalue")]
    [InlineData("a=", "'a='")]
    [InlineData("=b", "'=b'")]
    [InlineData("a=b c", "'a=b c'")]
    [InlineData("a=b,,c=d", "''")]
    [InlineData("a=b,a=c", "given twice")]
    [InlineData("k=v;drop", "'k=v;drop'")]
    public void Parse_RefusesBadTags(string text, string expected)
    {
        var (tags, problem) = TaskTags.Parse(text);
        Assert.Null(tags);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LimitsCountAndLength()
    {
        Assert.Null(TaskTags.Parse(string.Join(',', Enumerable.Range(0, 20).Select(i => $"k{i}=v"))).Problem);
        Assert.Contains("at most 20", TaskTags.Parse(string.Join(',', Enumerable.Range(0, 21).Select(i => $"k{i}=v"))).Problem, StringComparison.Ordinal);
        Assert.Null(TaskTags.Parse("k=" + new string('v', 64)).Problem);
        Assert.NotNull(TaskTags.Parse("k=" + new string('v', 65)).Problem);
    }
}
