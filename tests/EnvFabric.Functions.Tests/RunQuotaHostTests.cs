using System.Net;
using EnvFabric.Core.Tasks;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>A task's quotas through the whole path: the host puts them on the job, the real runner enforces them, the execution keeps the reason.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class RunQuotaHostTests(AzuriteFixture azurite)
{
    private const string Allocate300 =
        "import time\nblock = bytearray(300 * 1024 * 1024)\nfor i in range(0, len(block), 4096):\n    block[i] = 1\nprint('allocated', flush=True)\ntime.sleep(3)\nprint('done')\n";

    [Fact]
    public async Task Task_OverItsMemoryQuota_ExecutionFailedWithTheReason_UnderItCompletes()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("quota");

        // Once a year: the task runs only when triggered, after its quota is set.
        var id = await host.CreateTaskOkAsync(Allocate300, new Dictionary<string, string> { ["conda_env"] = "quota", ["task_name"] = "hungry", ["cron_expression"] = "0 3 1 1 *" });
        var tasks = host.Services.GetRequiredService<ITaskRepository>();
        Assert.NotNull(await tasks.MutateAsync(id, t => t with { Quotas = new TaskQuotas { MemoryMb = 100 } }));

        var (triggered, _) = await host.ControlAsync(id, "trigger");
        Assert.Equal(HttpStatusCode.OK, triggered.StatusCode);
        var detail = await host.WaitForTaskAsync(id, d => d.HasFinished(), what: "the run over its quota");
        var run = detail.Executions().Single()!;
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Matches(@"^memory quota exceeded: \d+ MiB used, quota 100 MiB$", run["error"]!.GetValue<string>());
        Assert.True(run["peak_memory"]!.GetValue<double>() > 100, run.ToJsonString());
        var stored = (await host.StoredExecutionsAsync(id)).Single();
        Assert.StartsWith("memory quota exceeded: ", stored.Error, StringComparison.Ordinal);

        Assert.NotNull(await tasks.MutateAsync(id, t => t with { Quotas = new TaskQuotas { MemoryMb = 600, Cpu = 1 } }));
        (triggered, _) = await host.ControlAsync(id, "trigger");
        Assert.Equal(HttpStatusCode.OK, triggered.StatusCode);
        var second = await host.WaitForTaskAsync(id, d => d.HasFinished(2), what: "the run under its quota");
        var ok = second.Executions()[0]!;
        Assert.Equal("completed", ok["status"]!.GetValue<string>());
        Assert.True(ok["error"] is null, ok.ToJsonString());
    }
}
