using System.Net;
using System.Text.Json.Nodes;
using EnvFabric.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>Seed 003 (<c>/api/tasks</c>) over HTTP with the real runner and a venv environment from the test wheelhouse.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TaskApiTests(AzuriteFixture azurite)
{
    private const string Printer = "import sys, alpha\nprint('hello from task')\nprint('line two', file=sys.stderr)\nbuf = bytearray(30 * 1024 * 1024)\nfor i in range(0, len(buf), 4096):\n    buf[i] = 1\n";

    [Fact]
    public async Task RunNow_RecordsExecutionWithMetricsLogsAndHistory()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite);
        await host.CreateCondaAsync("tasks", "alpha==1.0");

        var (created, body) = await host.CreateTaskAsync(Printer, new Dictionary<string, string> { ["conda_env"] = "tasks", ["task_name"] = "printer" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.True(body!["success"]!.GetValue<bool>());
        Assert.Equal("Task scheduled successfully", body["message"]!.GetValue<string>());
        Assert.Equal("Using existing environment 'tasks'", body["environment_message"]!.GetValue<string>());
        var task = body["task"]!;
        var id = task["task_id"]!.GetValue<long>();
        Assert.Equal("printer", task["task_name"]!.GetValue<string>());
        Assert.Equal("tasks", task["conda_env"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", task["created_at"]!.GetValue<string>());
        Assert.Null(task["last_run_time"]);
        Assert.True(File.Exists(Path.Combine(host.Share.Path, "scripts", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "main.py")));

        // The finish step writes the execution, then the task: wait for both.
        var detail = await host.WaitForTaskAsync(id, d => d.HasFinished() && d["task"]!["status"]!.GetValue<string>() != "running", what: "a finished execution and task");
        var run = detail.Executions().Single()!;
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal(0, run["exit_code"]!.GetValue<int>());
        Assert.Equal("manual", run["trigger"]!.GetValue<string>());
        Assert.Equal(1, run["attempt"]!.GetValue<int>());
        Assert.True(run["peak_memory"]!.GetValue<double>() >= 25, run.ToJsonString());
        Assert.True(run["duration"]!.GetValue<double>() > 0);
        Assert.Equal("completed", detail["task"]!["status"]!.GetValue<string>());
        Assert.NotNull(detail["task"]!["last_run_time"]);
        var latest = detail["latest_execution"]!;
        Assert.Contains("hello from task", latest["logs"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("line two", latest["logs"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("##[envfabric:end]", latest["logs"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Single(detail["performance_metrics"]!["durations"]!.AsArray());

        var executionId = run["execution_id"]!.GetValue<string>();
        var (logs, logBody) = await host.SendAsync(HttpMethod.Get, $"/api/tasks/{id}/executions/{executionId}/logs");
        Assert.Equal(HttpStatusCode.OK, logs.StatusCode);
        Assert.True(logBody!["is_complete"]!.GetValue<bool>());
        Assert.Contains("hello from task", logBody["logs"]!.GetValue<string>(), StringComparison.Ordinal);

        // The stream of a finished run: the whole log, then the end.
        var sse = await host.Client.GetStringAsync(new Uri($"/api/tasks/{id}/executions/{executionId}/logs?stream=true", UriKind.Relative));
        var events = sse.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => JsonNode.Parse(l[6..])!).ToList();
        Assert.Contains("hello from task", string.Concat(events.Select(e => e["logs"]!.GetValue<string>())), StringComparison.Ordinal);
        Assert.True(events[^1]["is_complete"]!.GetValue<bool>());

        var (_, list) = await host.SendAsync(HttpMethod.Get, "/api/tasks");
        Assert.Equal(id, list!.AsArray().Single()!["task_id"]!.GetValue<long>());
        var (_, history) = await host.SendAsync(HttpMethod.Get, "/api/tasks/history");
        Assert.Equal("success", history!["status"]!.GetValue<string>());
        Assert.Equal(executionId, history["data"]!.AsArray().Single()!["execution_id"]!.GetValue<string>());
        var (_, stats) = await host.SendAsync(HttpMethod.Get, "/api/tasks/stats");
        Assert.Equal(1, stats!["total"]!.GetValue<int>());
        Assert.Equal(1, stats["completed"]!.GetValue<int>());
        Assert.Equal(100, stats["success_rate"]!.GetValue<double>());
        Assert.Equal(1, stats["task_success_rate"]!["success"]!.GetValue<int>());
        Assert.Equal(7, stats["last_7_days"]!["dates"]!.AsArray().Count);
        Assert.Equal(1, stats["last_7_days"]!["success_counts"]!.AsArray()[^1]!.GetValue<int>());

        // system_resources: the sampler's series of the runner host's memory, hourly, the current hour last.
        var sampler = host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<SystemSampler>().Single();
        Assert.True(await sampler.SampleAsync(CancellationToken.None) >= 1);
        var (_, sampled) = await host.SendAsync(HttpMethod.Get, "/api/tasks/stats");
        var resources = sampled!["system_resources"]!;
        Assert.Equal(24, resources["timestamps"]!.AsArray().Count);
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:00:00$", resources["timestamps"]!.AsArray()[^1]!.GetValue<string>());
        Assert.True(resources["memory_usage"]!.AsArray()[^1]!.GetValue<double>() > 0);
        Assert.True(resources["total_memory"]!.GetValue<double>() >= resources["memory_usage"]!.AsArray()[^1]!.GetValue<double>());
        Assert.Equal(1, resources["task_counts"]!.AsArray().Sum(c => c!.GetValue<int>()));

        // The environment now sees the task.
        var (_, env) = await host.SendAsync(HttpMethod.Get, "/api/conda/environment/tasks");
        Assert.Equal(1, env!["usage_stats"]!["total_tasks"]!.GetValue<int>());

        // The environment cannot go while the task uses it; a rename carries the task along, and it runs there.
        var (inUse, inUseBody) = await host.SendAsync(HttpMethod.Delete, "/api/conda/environment/tasks");
        Assert.Equal(HttpStatusCode.Conflict, inUse.StatusCode);
        Assert.Equal("Environment 'tasks' is in use", inUseBody!["message"]!.GetValue<string>());
        var (renamed, renamedBody) = await host.SendAsync(HttpMethod.Put, "/api/conda/environment/tasks/rename", new { new_name = "tasks2" });
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        Assert.Equal(1, renamedBody!["updated_tasks_count"]!.GetValue<int>());
        var (triggered, _) = await host.SendAsync(HttpMethod.Post, $"/api/tasks/{id}/trigger");
        Assert.Equal(HttpStatusCode.OK, triggered.StatusCode);
        var rerun = await host.WaitForTaskAsync(id, d => d.HasFinished(2) && d["task"]!["status"]!.GetValue<string>() != "running", what: "the run after the rename");
        Assert.Equal("tasks2", rerun["task"]!["conda_env"]!.GetValue<string>());
        Assert.Equal("completed", rerun.Executions()[0]!["status"]!.GetValue<string>());

        // Delete removes the task, its executions and its directory.
        var (deleted, deletedBody) = await host.SendAsync(HttpMethod.Delete, $"/api/tasks/{id}");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal("Task deleted successfully", deletedBody!["message"]!.GetValue<string>());
        var (gone, goneBody) = await host.SendAsync(HttpMethod.Get, $"/api/tasks/{id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal($"Task with ID {id} not found", goneBody!["message"]!.GetValue<string>());
        Assert.False(Directory.Exists(Path.Combine(host.Share.Path, "scripts", id.ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }
}
