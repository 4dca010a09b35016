using EnvFabric.Core.Pools;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Tasks;
using Microsoft.Extensions.Time.Testing;

namespace EnvFabric.Core.Tests.Pools;

public sealed class QuotaAdmissionTests
{
    private static readonly DateTimeOffset Now = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly PoolConfiguration Config = new()
    {
        Pools = [new PoolDefinition { Name = "default" }, new PoolDefinition { Name = "gpu", Gpus = 2 }],
    };

    private static QuotaAdmission Admission() => new(new FakeTimeProvider(Now), TimeSpan.FromSeconds(30));

    private static RunnerInfo Runner(string pool, int? cores, double? memoryMb, TimeSpan? age = null, bool stopped = false) => new()
    {
        RunnerId = Guid.NewGuid().ToString("N"),
        Pool = pool,
        Cores = cores,
        MemoryTotalMb = memoryMb,
        LastHeartbeat = Now - (age ?? TimeSpan.FromSeconds(1)),
        Stopped = stopped,
    };

    [Fact]
    public void Gpu_NeedsAPoolThatOffersEnough()
    {
        Assert.Contains("offers no GPU", Admission().Refuse("default", new TaskQuotas { Gpu = 1 }, Config, []), StringComparison.Ordinal);
        Assert.Null(Admission().Refuse("gpu", new TaskQuotas { Gpu = 2 }, Config, []));
        Assert.Contains("offers 2 GPU(s), the quota asks for 3", Admission().Refuse("gpu", new TaskQuotas { Gpu = 3 }, Config, []), StringComparison.Ordinal);
        Assert.Null(Admission().Refuse("default", new TaskQuotas { Gpu = 0 }, Config, []));
    }

    [Fact]
    public void CpuAndMemory_MustFitTheLargestLiveRunnerOfThePool()
    {
        var runners = new[] { Runner("default", 2, 4096), Runner("default", 8, 16384), Runner("gpu", 64, 1_000_000) };
        Assert.Null(Admission().Refuse("default", new TaskQuotas { Cpu = 8, MemoryMb = 16384 }, Config, runners));
        Assert.Contains("8", Admission().Refuse("default", new TaskQuotas { Cpu = 9 }, Config, runners), StringComparison.Ordinal);
        Assert.Contains("16384 MiB", Admission().Refuse("default", new TaskQuotas { MemoryMb = 16385 }, Config, runners), StringComparison.Ordinal);
    }

    [Fact]
    public void DeadRunnersAndRunnersThatReportNothingDoNotCount()
    {
        var runners = new[]
        {
            Runner("default", 2, 2048),
            Runner("default", 64, 1_000_000, age: TimeSpan.FromMinutes(5)),
            Runner("default", 64, 1_000_000, stopped: true),
            Runner("default", null, null),
        };
        Assert.NotNull(Admission().Refuse("default", new TaskQuotas { Cpu = 4 }, Config, runners));
        Assert.NotNull(Admission().Refuse("default", new TaskQuotas { MemoryMb = 4096 }, Config, runners));
    }

    [Fact]
    public void APoolWithoutLiveReportsIsNotJudgedOnCpuOrMemory()
    {
        Assert.Null(Admission().Refuse("default", new TaskQuotas { Cpu = 512, MemoryMb = 1 << 30 }, Config, []));
        Assert.Null(Admission().Refuse("default", new TaskQuotas { Cpu = 512 }, Config, [Runner("default", null, null)]));
        Assert.Null(Admission().Refuse("default", new TaskQuotas { Cpu = 512 }, Config, [Runner("default", 2, 1024, age: TimeSpan.FromHours(1))]));
    }

    [Fact]
    public void AnUnknownPoolIsRefused() =>
        Assert.Contains("not configured", Admission().Refuse("nope", new TaskQuotas { Cpu = 1 }, Config, []), StringComparison.Ordinal);
}
