using EnvFabric.Core.Audit;
using EnvFabric.Core.Tests.Environments;
using EnvFabric.Testing;

namespace EnvFabric.Core.Tests.Audit;

[Collection(AzuriteCollection.Name)]
public sealed class TableAuditLogTests(AzuriteFixture azurite)
{
    private static AuditRecord Row(string op, string env, string ip, DateTimeOffset at) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        At = at,
        Operation = op,
        Environment = env,
        Who = "ci-key",
        ClientIp = ip,
        Outcome = "succeeded",
        DurationMs = 1200,
        Inputs = "{\"packages\":[\"numpy\"]}",
    };

    [Fact]
    public async Task QueryAsync_ByOperationEnvironmentIpAndRange_FiltersNewestFirst()
    {
        var context = new StorageTestContext(azurite);
        var audit = new TableAuditLog(context.Storage, context.Names);
        await audit.EnsureCreatedAsync();
        var day1 = DateTimeOffset.Parse("2026-02-01T10:00:00Z");
        await audit.WriteAsync(Row("create", "a", "10.0.0.1", day1));
        await audit.WriteAsync(Row("add", "a", "10.0.0.2", day1.AddHours(1)));
        await audit.WriteAsync(Row("create", "b", "10.0.0.1", day1.AddDays(1)));
        await audit.WriteAsync(Row("delete", "a", "10.0.0.1", day1.AddDays(2)));

        var all = await audit.QueryAsync(new AuditQuery());
        var creates = await audit.QueryAsync(new AuditQuery { Operation = "create" });
        var envA = await audit.QueryAsync(new AuditQuery { Environment = "a" });
        var ip2 = await audit.QueryAsync(new AuditQuery { ClientIp = "10.0.0.2" });
        var range = await audit.QueryAsync(new AuditQuery { From = day1.AddMinutes(30), To = day1.AddDays(1).AddMinutes(1) });

        Assert.Equal(["delete", "create", "add", "create"], all.Select(r => r.Operation));
        Assert.Equal(["b", "a"], creates.Select(r => r.Environment));
        Assert.Equal(3, envA.Count);
        Assert.Equal("add", ip2.Single().Operation);
        Assert.Equal(["create", "add"], range.Select(r => r.Operation));
        Assert.Equal("ci-key", all[0].Who);
        Assert.Equal(1200, all[0].DurationMs);
    }

    [Fact]
    public async Task WriteAsync_TableGone_ThrowsAuditWriteException()
    {
        var context = new StorageTestContext(azurite);
        var audit = new TableAuditLog(context.Storage, context.Names);

        await Assert.ThrowsAsync<AuditWriteException>(() => audit.WriteAsync(Row("create", "a", "1.1.1.1", DateTimeOffset.UtcNow)));
    }
}
