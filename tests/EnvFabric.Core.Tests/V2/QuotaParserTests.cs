using System.Text.Json;
using EnvFabric.Core.V2;

namespace EnvFabric.Core.Tests.V2;

public sealed class QuotaParserTests
{
    private static JsonElement Json(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    [Theory]
    [InlineData("4", 4)]
    [InlineData("0.5", 0.5)]
    [InlineData("500m", 0.5)]
    [InlineData("2", 2)]
    [InlineData("1500m", 1.5)]
    public void Cpu_ReadsCoresAndMillicores(string text, double cores) => Assert.Equal(cores, QuotaParser.Cpu(text));

    [Theory]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("-1")]
    [InlineData("0")]
    [InlineData("abc")]
    [InlineData("2 cores")]
    [InlineData("5000")]
    public void Cpu_RefusesWhatIsNotCores(string text) => Assert.Null(QuotaParser.Cpu(text));

    [Theory]
    [InlineData("16Gi", 16 * 1024)]
    [InlineData("512Mi", 512)]
    [InlineData("1G", 954)]
    [InlineData("1000M", 954)]
    [InlineData("1048576", 1)]
    [InlineData("1048577", 2)]
    [InlineData("1500Ki", 2)]
    [InlineData("1.5Gi", 1536)]
    [InlineData("1Ti", 1024 * 1024)]
    public void Memory_ReadsKubernetesQuantitiesRoundedUpToMiB(string text, long mb) => Assert.Equal(mb, QuotaParser.MemoryMb(text));

    [Theory]
    [InlineData("")]
    [InlineData("Gi")]
    [InlineData("16GB")]
    [InlineData("-1Gi")]
    [InlineData("0")]
    [InlineData("lots")]
    [InlineData("100000Ti")]
    public void Memory_RefusesWhatIsNotAQuantity(string text) => Assert.Null(QuotaParser.MemoryMb(text));

    [Fact]
    public void Parse_ReadsAnObjectOrAStringHoldingOne()
    {
        var (fromString, problem) = QuotaParser.Parse(Json("\"{\\\"cpu\\\": 4, \\\"gpu\\\": 2, \\\"memory\\\": \\\"16Gi\\\"}\""));
        Assert.Null(problem);
        Assert.Equal(4, fromString!.Cpu);
        Assert.Equal(2, fromString.Gpu);
        Assert.Equal(16 * 1024, fromString.MemoryMb);

        var (fromObject, _) = QuotaParser.Parse(Json("""{"cpu": "500m", "memory": 536870912, "gpu": "1"}"""));
        Assert.Equal(0.5, fromObject!.Cpu);
        Assert.Equal(512, fromObject.MemoryMb);
        Assert.Equal(1, fromObject.Gpu);
    }

    [Fact]
    public void Parse_NothingGivenIsNoQuota()
    {
        Assert.Equal((null, null), QuotaParser.Parse((JsonElement?)null));
        Assert.Equal((null, null), QuotaParser.Parse(Json("null")));
        Assert.Equal((null, null), QuotaParser.Parse(Json("\"\"")));
        Assert.Equal((null, null), QuotaParser.Parse(Json("{}")));
    }

    [Theory]
    [InlineData("""{"cpu": "lots"}""", "quotas.cpu")]
    [InlineData("""{"memory": "16GB"}""", "quotas.memory")]
    [InlineData("""{"gpu": 1.5}""", "quotas.gpu")]
    [InlineData("""{"gpu": -1}""", "quotas.gpu")]
    [InlineData("""{"disk": "1Gi"}""", "quotas.disk")]
    [InlineData("[1, 2]", "JSON object")]
    [InlineData("\"{not json\"", "not valid JSON")]
    public void Parse_BadInputNamesTheField(string json, string expected)
    {
        var (quotas, problem) = QuotaParser.Parse(Json(json));
        Assert.Null(quotas);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Format_ShowsTheStoredQuotas()
    {
        Assert.Null(QuotaParser.Format(null));
        Assert.Equal("""{"cpu":0.5,"memory":"512Mi","gpu":1}""", QuotaParser.Format(new Core.Tasks.TaskQuotas { Cpu = 0.5, MemoryMb = 512, Gpu = 1 }));
    }
}
