using Azure.Data.Tables;
using EnvFabric.Core.Backup;
using EnvFabric.Core.Tests.Environments;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Backup;

[Collection(AzuriteCollection.Name)]
public sealed class TableEntityJsonTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset At = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1234567);

    private static TableEntity EveryType() => new("part one", "row'1")
    {
        ["Text"] = "multi\nline \"quoted\" ü 漢字",
        ["Empty"] = "",
        ["Small"] = -42,
        ["IntMax"] = int.MaxValue,
        ["Big"] = long.MaxValue,
        ["BigNegative"] = long.MinValue + 1,
        ["Ratio"] = 0.1 + 0.2,
        ["Tiny"] = double.Epsilon,
        ["Whole"] = 3.0,
        ["NotANumber"] = double.NaN,
        ["Infinite"] = double.NegativeInfinity,
        ["Yes"] = true,
        ["No"] = false,
        ["When"] = At,
        ["Id"] = Guid.Parse("6f9619ff-8b86-d011-b42d-00c04fc964ff"),
        ["Bytes"] = new byte[] { 0, 1, 2, 254, 255, (byte)'\n' },
        ["NoBytes"] = Array.Empty<byte>(),
    };

    [Fact]
    public void SerializeDeserialize_EveryEdmType_SameTypesAndValuesOnOneLine()
    {
        var line = TableEntityJson.Serialize(EveryType());

        Assert.DoesNotContain('\n', line);
        var back = TableEntityJson.Deserialize(line);
        AssertSame(EveryType(), back);
    }

    [Fact]
    public void Serialize_DateTimeWithOffset_SameInstantInUtc()
    {
        var entity = new TableEntity("p", "r") { ["When"] = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.FromHours(9)) };

        var back = TableEntityJson.Deserialize(TableEntityJson.Serialize(entity));

        var when = Assert.IsType<DateTimeOffset>(back["When"]);
        Assert.Equal(TimeSpan.Zero, when.Offset);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 3, 0, 0, TimeSpan.Zero), when);
    }

    [Fact]
    public void Serialize_Int64AndDouble_WrittenAsStringsSoNoDigitIsLost()
    {
        var line = TableEntityJson.Serialize(new TableEntity("p", "r") { ["Big"] = 9_007_199_254_740_993L, ["Ratio"] = 0.30000000000000004 });

        Assert.Contains("\"Big\":{\"Type\":\"Edm.Int64\",\"Value\":\"9007199254740993\"}", line, StringComparison.Ordinal);
        Assert.Contains("\"Ratio\":{\"Type\":\"Edm.Double\",\"Value\":\"0.30000000000000004\"}", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("[1]", "JSON object")]
    [InlineData("{\"RowKey\":\"r\",\"Properties\":{}}", "PartitionKey")]
    [InlineData("{\"PartitionKey\":\"p\",\"RowKey\":\"r\"}", "Properties")]
    [InlineData("{\"PartitionKey\":\"p\",\"RowKey\":\"r\",\"Properties\":{\"A\":{\"Type\":\"Edm.Decimal\",\"Value\":\"1\"}}}", "unknown type 'Edm.Decimal'")]
    [InlineData("{\"PartitionKey\":\"p\",\"RowKey\":\"r\",\"Properties\":{\"A\":{\"Type\":\"Edm.Int32\",\"Value\":\"1\"}}}", "property 'A'")]
    [InlineData("{\"PartitionKey\":\"p\",\"RowKey\":\"r\",\"Properties\":{\"A\":{\"Type\":\"Edm.Int64\",\"Value\":\"1.5\"}}}", "property 'A'")]
    [InlineData("{\"PartitionKey\":\"p\",\"RowKey\":\"r\",\"Properties\":{\"A\":{\"Type\":\"Edm.Guid\",\"Value\":\"nope\"}}}", "property 'A'")]
    [InlineData("{\"PartitionKey\":\"p\",\"RowKey\":\"r\",\"Properties\":{\"A\":{\"Type\":\"Edm.Binary\",\"Value\":\"***\"}}}", "property 'A'")]
    [InlineData("{\"PartitionKey\":\"p\",\"RowKey\":\"r\",\"Properties\":{\"A\":{\"Type\":\"Edm.Boolean\",\"Value\":\"true\"}}}", "property 'A'")]
    [InlineData("{\"PartitionKey\":\"p\",\"RowKey\":\"r\",\"Properties\":{\"A\":{\"Value\":\"x\"}}}", "\"Type\" and \"Value\"")]
    [InlineData("{\"PartitionKey\":\"p\",\"RowKey\":\"r\",\"Properties\":{\"Timestamp\":{\"Type\":\"Edm.String\",\"Value\":\"x\"}}}", "system property")]
    public void Deserialize_MalformedLine_FormatExceptionNamingTheProblem(string line, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => TableEntityJson.Deserialize(line));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RoundTrip_ThroughTheTableService_EveryPropertyKeepsItsType()
    {
        var context = new StorageTestContext(azurite);
        var source = context.Storage.Tables.GetTableClient(context.Names.Table("JsonSource"));
        var target = context.Storage.Tables.GetTableClient(context.Names.Table("JsonTarget"));
        await source.CreateIfNotExistsAsync();
        await target.CreateIfNotExistsAsync();
        var original = EveryType();
        original.Remove("NotANumber");
        original.Remove("Infinite");
        original.Remove("NoBytes");
        await source.AddEntityAsync(original);

        // What the service returns is what a backup reads; what it writes back must read the same again.
        var read = (await source.GetEntityAsync<TableEntity>(original.PartitionKey, original.RowKey)).Value;
        var line = TableEntityJson.Serialize(read);
        Assert.Contains("\"Timestamp\":", line, StringComparison.Ordinal);
        await target.UpsertEntityAsync(TableEntityJson.Deserialize(line), TableUpdateMode.Replace);
        var restored = (await target.GetEntityAsync<TableEntity>(original.PartitionKey, original.RowKey)).Value;

        AssertSame(original, restored);
        Assert.Equal(line[line.IndexOf("\"Properties\"", StringComparison.Ordinal)..], TableEntityJson.Serialize(restored)[TableEntityJson.Serialize(restored).IndexOf("\"Properties\"", StringComparison.Ordinal)..]);
    }

    private static void AssertSame(TableEntity expected, TableEntity actual)
    {
        Assert.Equal(expected.PartitionKey, actual.PartitionKey);
        Assert.Equal(expected.RowKey, actual.RowKey);
        var names = actual.Keys.Where(k => k is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag")).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Keys.Where(k => k is not ("PartitionKey" or "RowKey")).Order(StringComparer.Ordinal).ToList(), names);
        foreach (var name in names)
        {
            var want = expected[name];
            var got = actual[name];
            if (want is DateTimeOffset wantAt)
            {
                Assert.Equal(wantAt.UtcTicks, Assert.IsType<DateTimeOffset>(got).UtcTicks);
                continue;
            }

            Assert.Equal(want.GetType(), got.GetType());
            if (want is byte[] bytes)
            {
                Assert.Equal(bytes, (byte[])got);
            }
            else if (want is double d)
            {
                Assert.Equal(BitConverter.DoubleToInt64Bits(d), BitConverter.DoubleToInt64Bits((double)got));
            }
            else
            {
                Assert.Equal(want, got);
            }
        }
    }
}
