using EnvFabric.Core.Configuration;
using EnvFabric.Core.Pools;
using EnvFabric.Core.Storage;
using EnvFabric.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EnvFabric.Core.Tests.Pools;

public sealed class PoolFileTests
{
    private const string FullFile = """
        // The deployment's pools.
        {
          "pools": [
            { "name": "default", "capacity": 20, "description": "general work" },
            { "name": "gpu", "capacity": 4, "gpus": 2 },
            { "name": "batch" }, // no queue: gets an implicit one
          ],
          "queues": [
            { "name": "urgent", "pool": "default", "min_priority": 5, "weight": 3 },
            { "name": "normal", "pool": "default", "min_priority": 0, "max_priority": 4, "weight": 1 },
            { "name": "gpu-all", "pool": "gpu" },
          ],
          "slas": [
            { "name": "urgent-wait", "pool": "default", "min_priority": 5, "max_wait_seconds": 60, "action": "promote", "promote_by": 2 },
            { "name": "any-wait", "max_wait_seconds": 3600 },
          ],
          "policies": [
            { "name": "gpu-team", "pool": "gpu", "namespaces": ["ml", "vision"], "tags": { "gpu": "yes" } },
          ],
        }
        """;

    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Parse_FullFile_ReadsEveryFieldAndAddsTheImplicitQueue()
    {
        var load = PoolFile.Parse(System.Text.Encoding.UTF8.GetBytes(FullFile), "/data/pools.json", Now);

        Assert.True(load.Ok, string.Join("\n", load.Problems));
        var c = load.Configuration!;
        Assert.Equal("/data/pools.json", c.Source);
        Assert.Equal(Now, c.LoadedAt);
        Assert.Equal(64, load.Generation.Length);
        Assert.Equal(["default", "gpu", "batch"], c.Pools.Select(p => p.Name));
        Assert.Equal(20, c.Pool("default")!.Capacity);
        Assert.Equal("general work", c.Pool("default")!.Description);
        Assert.Equal(2, c.Pool("gpu")!.Gpus);
        Assert.Equal(50, c.Pool("batch")!.Capacity);
        Assert.Equal(["urgent", "normal", "gpu-all", "batch"], c.Queues.Select(q => q.Name));
        Assert.Equal("urgent", c.QueueFor("default", 9)!.Name);
        Assert.Equal(3, c.QueueFor("default", 9)!.Weight);
        Assert.Equal("normal", c.QueueFor("default", 0)!.Name);
        Assert.Null(c.QueueFor("default", -1));
        var batch = c.QueueFor("batch", int.MinValue)!;
        Assert.Equal(("batch", "batch", int.MinValue, int.MaxValue, 1), (batch.Name, batch.Pool, batch.MinPriority, batch.MaxPriority, batch.Weight));
        var sla = c.Slas[0];
        Assert.Equal(("urgent-wait", "default", 5, int.MaxValue, 60, SlaActions.Promote, 2), (sla.Name, sla.Pool, sla.MinPriority, sla.MaxPriority, sla.MaxWaitSeconds, sla.Action, sla.PromoteBy));
        Assert.Null(c.Slas[1].Pool);
        Assert.Equal(SlaActions.Alert, c.Slas[1].Action);
        Assert.Equal(["ml", "vision"], c.Policies[0].Namespaces);
        Assert.Equal("yes", c.Policies[0].Tags["gpu"]);
        Assert.Null(c.Refusal("gpu", "ml", new Dictionary<string, string> { ["gpu"] = "yes" }));
        Assert.NotNull(c.Refusal("gpu", "web", new Dictionary<string, string> { ["gpu"] = "yes" }));
    }

    [Fact]
    public void Load_NoFile_IsTheDefaultOfMaxConcurrentTasks()
    {
        using var dir = new TempDirectory("pools");

        var load = PoolFile.Load(dir.Combine(PoolFile.FileName), 7, Now);

        Assert.True(load.Ok);
        Assert.Equal("", load.Generation);
        Assert.Null(load.Configuration!.Source);
        Assert.Equal(7, Assert.Single(load.Configuration.Pools).Capacity);
        Assert.Equal("default", Assert.Single(load.Configuration.Queues).Name);
    }

    [Fact]
    public void Load_FileOverOneMebibyte_IsRefused()
    {
        using var dir = new TempDirectory("pools");
        var path = dir.Combine(PoolFile.FileName);
        File.WriteAllText(path, "{\"pools\":[{\"name\":\"default\"}]}" + new string(' ', PoolFile.MaxBytes));

        var load = PoolFile.Load(path, 7, Now);

        Assert.False(load.Ok);
        Assert.StartsWith("the file is ", Assert.Single(load.Problems), StringComparison.Ordinal);
        Assert.Contains("1 MiB", load.Problems[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"pools":[{"name":"default","colour":"red"}]}""", "$.pools[0].colour (line 1): The JSON property 'colour' could not be mapped to any .NET member of 'PoolDefinition'")]
    [InlineData("""{"pools":[{"name":"default"}], "extra": 1}""", "$.extra (line 1): The JSON property 'extra' could not be mapped to any .NET member of 'PoolConfiguration'")]
    [InlineData("""{"pools":[{"name":"default","capacity":"ten"}]}""", "$.pools[0].capacity (line 1): The JSON value could not be converted to System.Int32")]
    [InlineData("""{"pools":[{"capacity":3}]}""", "missing required properties including: 'name'")]
    [InlineData("""{"pools":[ """, "$.pools[0] (line 1)")]
    public void Parse_MalformedJson_OneLineWithThePlace(string json, string expected)
    {
        var load = PoolFile.Parse(System.Text.Encoding.UTF8.GetBytes(json), null, Now);

        Assert.False(load.Ok);
        Assert.Contains(expected, Assert.Single(load.Problems), StringComparison.Ordinal);
        Assert.DoesNotContain("\n", load.Problems[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"pools":[{"name":"gpu"}]}""", "pools: no pool is named 'default' (runners without RUNNER_POOL and tasks without a pool go there)")]
    [InlineData("""{"pools":[{"name":"default"},{"name":"Big Pool"}]}""", "pools[1] 'Big Pool': name 'Big Pool' is not valid (1 to 32 lower-case letters, digits or '-', starting with a letter or digit)")]
    [InlineData("""{"pools":[{"name":"default"},{"name":"default"}]}""", "pools[1] 'default': name 'default' is used by an earlier pool")]
    [InlineData("""{"pools":[{"name":"default","capacity":0}]}""", "pools[0] 'default': capacity 0 is out of range (use 1 to 10000)")]
    [InlineData("""{"pools":[{"name":"default","capacity":10001}]}""", "pools[0] 'default': capacity 10001 is out of range (use 1 to 10000)")]
    [InlineData("""{"pools":[{"name":"default","gpus":65}]}""", "pools[0] 'default': gpus 65 is out of range (use 0 to 64)")]
    [InlineData("""{"pools":[{"name":"default","gpus":-1}]}""", "pools[0] 'default': gpus -1 is out of range (use 0 to 64)")]
    [InlineData("""{"pools":[{"name":"default"}],"queues":[{"name":"q","pool":"gpu"}]}""", "queues[0] 'q': pool 'gpu' is not defined in pools")]
    [InlineData("""{"pools":[{"name":"default"}],"queues":[{"name":"Q_1","pool":"default"}]}""", "queues[0] 'Q_1': name 'Q_1' is not valid (1 to 32 lower-case letters, digits or '-', starting with a letter or digit)")]
    [InlineData("""{"pools":[{"name":"default"}],"queues":[{"name":"q","pool":"default","max_priority":1},{"name":"q","pool":"default","min_priority":2}]}""", "queues[1] 'q': name 'q' is used by an earlier queue")]
    [InlineData("""{"pools":[{"name":"default"}],"queues":[{"name":"q","pool":"default","min_priority":5,"max_priority":1}]}""", "queues[0] 'q': min_priority 5 is above max_priority 1")]
    [InlineData("""{"pools":[{"name":"default"}],"queues":[{"name":"q","pool":"default","weight":0}]}""", "queues[0] 'q': weight 0 is out of range (use 1 to 1000)")]
    [InlineData("""{"pools":[{"name":"default"}],"queues":[{"name":"q","pool":"default","weight":1001}]}""", "queues[0] 'q': weight 1001 is out of range (use 1 to 1000)")]
    [InlineData("""{"pools":[{"name":"default"}],"queues":[{"name":"a","pool":"default","min_priority":0,"max_priority":5},{"name":"b","pool":"default","min_priority":5,"max_priority":9}]}""", "queues[1] 'b': its priority band 5..9 overlaps the band 0..5 of queue 'a' of the same pool 'default' (the first would hide the second)")]
    [InlineData("""{"pools":[{"name":"default"},{"name":"gpu"}],"queues":[{"name":"gpu","pool":"default"}]}""", "pools 'gpu': the pool has no queue, and its implicit queue 'gpu' clashes with the queue 'gpu' of pool 'default'")]
    [InlineData("""{"pools":[{"name":"default"}],"slas":[{"name":"","max_wait_seconds":5}]}""", "slas[0]: name '' is not valid (1 to 64 characters)")]
    [InlineData("""{"pools":[{"name":"default"}],"slas":[{"name":"s","max_wait_seconds":5},{"name":"s","max_wait_seconds":5}]}""", "slas[1] 's': name 's' is used by an earlier SLA rule")]
    [InlineData("""{"pools":[{"name":"default"}],"slas":[{"name":"s","pool":"gpu","max_wait_seconds":5}]}""", "slas[0] 's': pool 'gpu' is not defined in pools")]
    [InlineData("""{"pools":[{"name":"default"}],"slas":[{"name":"s"}]}""", "slas[0] 's': max_wait_seconds 0 is out of range (use 1 to 604800)")]
    [InlineData("""{"pools":[{"name":"default"}],"slas":[{"name":"s","max_wait_seconds":604801}]}""", "slas[0] 's': max_wait_seconds 604801 is out of range (use 1 to 604800)")]
    [InlineData("""{"pools":[{"name":"default"}],"slas":[{"name":"s","max_wait_seconds":5,"action":"page"}]}""", "slas[0] 's': action 'page' is not known (use promote or alert)")]
    [InlineData("""{"pools":[{"name":"default"}],"slas":[{"name":"s","max_wait_seconds":5,"promote_by":0}]}""", "slas[0] 's': promote_by 0 is out of range (use 1 to 1000)")]
    [InlineData("""{"pools":[{"name":"default"}],"slas":[{"name":"s","max_wait_seconds":5,"min_priority":3,"max_priority":2}]}""", "slas[0] 's': min_priority 3 is above max_priority 2")]
    [InlineData("""{"pools":[{"name":"default"}],"policies":[{"name":"p","pool":"gpu"}]}""", "policies[0] 'p': pool 'gpu' is not defined in pools")]
    [InlineData("""{"pools":[{"name":"default"}],"policies":[{"name":"p","pool":"default","namespaces":["ok","-bad"]}]}""", "policies[0] 'p': namespace '-bad' is not valid (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)")]
    [InlineData("""{"pools":[{"name":"default"}],"policies":[{"name":"p","pool":"default"},{"name":"p","pool":"default"}]}""", "policies[1] 'p': name 'p' is used by an earlier policy")]
    public void Parse_InvalidEntry_RefusedWithItsMessage(string json, string expected)
    {
        var load = PoolFile.Parse(System.Text.Encoding.UTF8.GetBytes(json), null, Now);

        Assert.False(load.Ok);
        Assert.Contains(expected, load.Problems);
    }

    [Fact]
    public void Parse_SeveralProblems_ReportsEveryOne()
    {
        const string json = """{"pools":[{"name":"gpu","capacity":0}],"queues":[{"name":"q","pool":"none","weight":0}]}""";

        var load = PoolFile.Parse(System.Text.Encoding.UTF8.GetBytes(json), null, Now);

        Assert.Equal(
            [
                "pools[0] 'gpu': capacity 0 is out of range (use 1 to 10000)",
                "pools: no pool is named 'default' (runners without RUNNER_POOL and tasks without a pool go there)",
                "queues[0] 'q': pool 'none' is not defined in pools",
                "queues[0] 'q': weight 0 is out of range (use 1 to 1000)",
            ],
            load.Problems);
    }

    [Fact]
    public void Parse_BandsThatTouchButDoNotOverlap_AreAccepted()
    {
        const string json = """{"pools":[{"name":"default"}],"queues":[{"name":"low","pool":"default","max_priority":0},{"name":"high","pool":"default","min_priority":1}]}""";

        var load = PoolFile.Parse(System.Text.Encoding.UTF8.GetBytes(json), null, Now);

        Assert.True(load.Ok, string.Join("\n", load.Problems));
        Assert.Equal("low", load.Configuration!.QueueFor("default", -100)!.Name);
        Assert.Equal("high", load.Configuration.QueueFor("default", 1)!.Name);
    }
}

public sealed class FilePoolConfigurationTests
{
    private const string Good = """{"pools":[{"name":"default","capacity":3}],"slas":[{"name":"first","max_wait_seconds":10}]}""";
    private const string Other = """{"pools":[{"name":"default","capacity":9},{"name":"gpu"}],"slas":[{"name":"second","max_wait_seconds":20}]}""";

    [Fact]
    public void Construct_BadFile_ThrowsOneLineNamingTheFileAndTheFirstProblem()
    {
        using var dir = new TempDirectory("pools");
        var path = dir.Combine(PoolFile.FileName);
        File.WriteAllText(path, """{"pools":[{"name":"default","capacity":0},{"name":"x","gpus":99}]}""");

        var error = Assert.Throws<InvalidSettingException>(() => new FilePoolConfiguration(path, 5));

        Assert.Equal($"{path}: pools[0] 'default': capacity 0 is out of range (use 1 to 10000)", error.Message);
    }

    [Fact]
    public void Reload_GoodFile_SwapsTheConfiguration()
    {
        using var dir = new TempDirectory("pools");
        var path = dir.Combine(PoolFile.FileName);
        var pools = new FilePoolConfiguration(path, 5);
        Assert.Equal(5, pools.Current.Pool("default")!.Capacity);

        File.WriteAllText(path, Good);
        var result = pools.Reload();

        Assert.True(result.Ok);
        Assert.Null(result.Problem);
        Assert.Same(result.Current, pools.Current);
        Assert.Equal(3, pools.Current.Pool("default")!.Capacity);
        Assert.Equal("first", Assert.Single(pools.Current.Slas).Name);
    }

    [Fact]
    public void Reload_BadFile_KeepsTheRunningConfigurationAndSaysWhy()
    {
        using var dir = new TempDirectory("pools");
        var path = dir.Combine(PoolFile.FileName);
        File.WriteAllText(path, Good);
        var pools = new FilePoolConfiguration(path, 5);
        var before = pools.Current;
        var generation = pools.Generation;

        File.WriteAllText(path, """{"pools":[{"name":"default"}],"slas":[{"name":"s","max_wait_seconds":0,"action":"x"}]}""");
        var result = pools.Reload();

        Assert.False(result.Ok);
        Assert.Equal("slas[0] 's': max_wait_seconds 0 is out of range (use 1 to 604800); slas[0] 's': action 'x' is not known (use promote or alert)", result.Problem);
        Assert.Same(before, result.Current);
        Assert.Same(before, pools.Current);
        Assert.Equal(generation, pools.Generation);
    }

    [Fact]
    public void Reload_FileRemoved_IsTheDefaultAgain()
    {
        using var dir = new TempDirectory("pools");
        var path = dir.Combine(PoolFile.FileName);
        File.WriteAllText(path, Other);
        var pools = new FilePoolConfiguration(path, 5);
        Assert.Equal(2, pools.Current.Pools.Count);

        File.Delete(path);
        var result = pools.Reload();

        Assert.True(result.Ok);
        Assert.Equal(5, Assert.Single(pools.Current.Pools).Capacity);
        Assert.Equal("", pools.Generation);
    }
}

/// <summary>Several hosts over one generation row (real table on Azurite), each with its own copy of the file.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class PoolGenerationTests(AzuriteFixture azurite)
{
    private const string Good = """{"pools":[{"name":"default","capacity":3}]}""";
    private const string Newer = """{"pools":[{"name":"default","capacity":8}]}""";
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ReloadOnOneHost_OtherHostFollowsAfterTheCheckInterval()
    {
        using var dirA = new TempDirectory("pools-a");
        using var dirB = new TempDirectory("pools-b");
        var (store, clock) = (Store(), new FakeTimeProvider(DateTimeOffset.UtcNow));
        File.WriteAllText(dirA.Combine(PoolFile.FileName), Good);
        File.WriteAllText(dirB.Combine(PoolFile.FileName), Good);
        var hostA = new FilePoolConfiguration(dirA.Combine(PoolFile.FileName), 5, store, clock);
        var hostB = new FilePoolConfiguration(dirB.Combine(PoolFile.FileName), 5, store, clock);

        // The share changed under both hosts; one of them takes the reload.
        File.WriteAllText(dirA.Combine(PoolFile.FileName), Newer);
        File.WriteAllText(dirB.Combine(PoolFile.FileName), Newer);
        var (result, _) = await hostA.ReloadAndPublishAsync();
        Assert.True(result.Ok);
        Assert.Equal(hostA.Generation, await store.GetAsync());

        // Before the interval host B does not look.
        Assert.Equal(3, hostB.Current.Pool("default")!.Capacity);
        Assert.False(hostB.IsCheckingGeneration);

        clock.Advance(FilePoolConfiguration.GenerationCheckInterval);
        _ = hostB.Current;
        Assert.True(await EventuallyAsync(() => hostB.Current.Pool("default")!.Capacity == 8 && !hostB.IsCheckingGeneration));
        Assert.Equal(hostA.Generation, hostB.Generation);
    }

    [Fact]
    public async Task OtherHostsCopyIsBad_ItKeepsItsConfigurationAndDoesNotRetryTheSameGeneration()
    {
        using var dirA = new TempDirectory("pools-a");
        using var dirB = new TempDirectory("pools-b");
        var (store, clock) = (Store(), new FakeTimeProvider(DateTimeOffset.UtcNow));
        File.WriteAllText(dirA.Combine(PoolFile.FileName), Good);
        File.WriteAllText(dirB.Combine(PoolFile.FileName), Good);
        var hostA = new FilePoolConfiguration(dirA.Combine(PoolFile.FileName), 5, store, clock);
        var hostB = new FilePoolConfiguration(dirB.Combine(PoolFile.FileName), 5, store, clock);
        var before = hostB.Current;

        File.WriteAllText(dirA.Combine(PoolFile.FileName), Newer);
        File.WriteAllText(dirB.Combine(PoolFile.FileName), """{"pools":[{"name":"default","capacity":-1}]}""");
        await hostA.ReloadAndPublishAsync();
        clock.Advance(FilePoolConfiguration.GenerationCheckInterval);
        _ = hostB.Current;

        Assert.True(await EventuallyAsync(() => !hostB.IsCheckingGeneration));
        Assert.Same(before, hostB.Current);

        // Host B's file fixed later, same generation row: B does not re-read until a new reload is published.
        File.WriteAllText(dirB.Combine(PoolFile.FileName), Newer);
        clock.Advance(FilePoolConfiguration.GenerationCheckInterval);
        _ = hostB.Current;
        Assert.True(await EventuallyAsync(() => !hostB.IsCheckingGeneration));
        Assert.Same(before, hostB.Current);
    }

    private TablePoolGenerationStore Store()
    {
        var options = Options.Create(new EnvFabricOptions { StoragePrefix = AzuriteFixture.UniqueName("p") });
        return new TablePoolGenerationStore(StorageAccount.FromConnectionString(azurite.ConnectionString), new StorageNames(options));
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Within;
        while (DateTime.UtcNow < deadline)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(20);
        }

        return condition();
    }
}
