using EnvFabric.Runner.Processes;

namespace EnvFabric.Runner.Tests;

/// <summary>The arithmetic of a run quota: address-space limit, cores, duty cycle, the cores handed out.</summary>
public sealed class RunQuotaModelTests
{
    [Fact]
    public void AddressSpaceLimit_FourTimesTheQuotaAndAtLeastAGigabyteAbove()
    {
        Assert.Equal(1124L * 1024 * 1024, new RunQuota { MemoryLimitMb = 100 }.AddressSpaceLimitBytes);
        Assert.Equal(2400L * 1024 * 1024, new RunQuota { MemoryLimitMb = 600 }.AddressSpaceLimitBytes);
        Assert.Null(new RunQuota { CpuLimit = 1 }.AddressSpaceLimitBytes);
    }

    [Fact]
    public void Cpu_RoundsUpToCoresAndThrottlesOnlyAFraction()
    {
        Assert.Equal((1, 0.5), (new RunQuota { CpuLimit = 0.5 }.Cores!.Value, new RunQuota { CpuLimit = 0.5 }.DutyCycle!.Value));
        Assert.Equal((2, 0.75), (new RunQuota { CpuLimit = 1.5 }.Cores!.Value, new RunQuota { CpuLimit = 1.5 }.DutyCycle!.Value));
        Assert.Equal(2, new RunQuota { CpuLimit = 2 }.Cores);
        Assert.Null(new RunQuota { CpuLimit = 2 }.DutyCycle);
        Assert.Null(new RunQuota { MemoryLimitMb = 10 }.Cores);
    }

    [Fact]
    public void Of_NoQuota_Null_AndInvalidValuesNamed()
    {
        Assert.Null(RunQuota.Of(null, null));
        Assert.Null(RunQuota.Of(1, 0.1)!.Invalid());
        Assert.Equal("invalid memory quota -5 MiB (must be above 0)", RunQuota.Of(-5, null)!.Invalid());
        Assert.Equal("invalid CPU quota 0 (must be above 0)", RunQuota.Of(null, 0)!.Invalid());
        Assert.Equal("invalid CPU quota NaN (must be above 0)", RunQuota.Of(null, double.NaN)!.Invalid());
        Assert.Equal("memory quota exceeded: 301 MiB used, quota 100 MiB", RunQuota.MemoryExceeded(300.6, 100));
    }

    [Fact]
    public void CoreAllocator_HandsOutCoresRoundRobin_AllWhenAskedForAsManyOrMore()
    {
        var cores = new CoreAllocator([0, 2, 5]);

        Assert.Equal([0], cores.Take(1));
        Assert.Equal([2], cores.Take(1));
        Assert.Equal([0, 5], cores.Take(2));
        Assert.Equal([2], cores.Take(1));
        Assert.Equal([0, 2, 5], cores.Take(3));
        Assert.Equal([0, 2, 5], cores.Take(8));
    }

    [Fact]
    public void ParseList_KernelCpuLists()
    {
        Assert.Equal([0, 1, 2, 3, 8, 10, 11], CoreAllocator.ParseList("0-3,8,10-11\n"));
        Assert.Equal([0], CoreAllocator.ParseList(" 0 "));
        Assert.Null(CoreAllocator.ParseList("0-"));
        Assert.Null(CoreAllocator.ParseList("3-1"));
        Assert.Null(CoreAllocator.ParseList("a"));
        Assert.True(CoreAllocator.ForThisProcess().Cores.Count >= 1);
    }

    [Fact]
    public void CgroupState_NoV2Hierarchy_Named()
    {
        using var dir = new EnvFabric.Testing.TempDirectory("envfabric-cgroup");

        Assert.Equal($"no cgroup v2 hierarchy at {dir.Path}", QuotaMechanism.CgroupState(dir.Path));
        File.WriteAllText(Path.Combine(dir.Path, "cgroup.controllers"), "pids io\n");
        Assert.Equal($"cgroup v2 at {dir.Path} without the memory and cpu controllers", QuotaMechanism.CgroupState(dir.Path));
    }
}
