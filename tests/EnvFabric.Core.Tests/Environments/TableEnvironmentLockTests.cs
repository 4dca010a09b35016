using EnvFabric.Core.Environments;
using EnvFabric.Testing;
using Microsoft.Extensions.Time.Testing;

namespace EnvFabric.Core.Tests.Environments;

[Collection(AzuriteCollection.Name)]
public sealed class TableEnvironmentLockTests(AzuriteFixture azurite)
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-03-01T00:00:00Z"));

    private async Task<TableEnvironmentLock> CreateAsync()
    {
        var context = new StorageTestContext(azurite);
        var locks = new TableEnvironmentLock(context.Storage, context.Names, _time);
        await locks.EnsureCreatedAsync();
        return locks;
    }

    [Fact]
    public async Task TryAcquireAsync_SecondOwner_IsRefusedWithHolder()
    {
        var locks = await CreateAsync();

        var first = await locks.TryAcquireAsync("env", "op-1", "create", TimeSpan.FromHours(1));
        var second = await locks.TryAcquireAsync("env", "op-2", "add", TimeSpan.FromHours(1));

        Assert.True(first.Acquired);
        Assert.False(second.Acquired);
        Assert.Equal("op-1", second.Holder!.Owner);
        Assert.Equal("create", second.Holder.Operation);
    }

    [Fact]
    public async Task TryAcquireAsync_SameOwnerAgain_Succeeds()
    {
        var locks = await CreateAsync();
        await locks.TryAcquireAsync("env", "op-1", "create", TimeSpan.FromHours(1));

        var again = await locks.TryAcquireAsync("env", "op-1", "create", TimeSpan.FromHours(1));

        Assert.True(again.Acquired);
    }

    [Fact]
    public async Task TryAcquireAsync_AfterExpiry_TakesOver()
    {
        var locks = await CreateAsync();
        await locks.TryAcquireAsync("env", "op-1", "create", TimeSpan.FromMinutes(5));
        _time.Advance(TimeSpan.FromMinutes(6));

        var second = await locks.TryAcquireAsync("env", "op-2", "add", TimeSpan.FromMinutes(5));

        Assert.True(second.Acquired);
        Assert.Equal("op-2", (await locks.GetAsync("env"))!.Owner);
    }

    [Fact]
    public async Task ReleaseAsync_OnlyByOwner()
    {
        var locks = await CreateAsync();
        await locks.TryAcquireAsync("env", "op-1", "create", TimeSpan.FromHours(1));

        Assert.False(await locks.ReleaseAsync("env", "op-2"));
        Assert.True(await locks.ReleaseAsync("env", "op-1"));
        Assert.Null(await locks.GetAsync("env"));
        Assert.True((await locks.TryAcquireAsync("env", "op-2", "add", TimeSpan.FromHours(1))).Acquired);
    }

    [Fact]
    public async Task TryAcquireAsync_Concurrent_ExactlyOneWins()
    {
        var locks = await CreateAsync();

        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => locks.TryAcquireAsync("race", $"op-{i}", "add", TimeSpan.FromHours(1))));

        Assert.Single(attempts, a => a.Acquired);
    }
}
