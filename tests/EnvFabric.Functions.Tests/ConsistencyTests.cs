using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using EnvFabric.Activities.Tasks;
using EnvFabric.Core.Configuration;
using EnvFabric.Core.Environments;
using EnvFabric.Core.Runner;
using EnvFabric.Core.Storage;
using EnvFabric.Core.Tasks;
using EnvFabric.Functions.Extensions;
using EnvFabric.Testing;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace EnvFabric.Functions.Tests;

/// <summary>
/// <c>/api/system/consistency</c> over HTTP with the real host, runner and durable engine: every kind of
/// inconsistency is made for real (rows deleted behind the API, directories and blobs dropped on the share and in
/// the log container, a schedule terminated through the durable client, executions left running), found, listed by
/// a dry run that changes nothing, repaired and audited.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ConsistencyTests(AzuriteFixture azurite)
{
    private static readonly Dictionary<string, string?> NoGrace = new() { ["CONSISTENCY_GRACE_SECONDS"] = "0" };

    [Fact]
    public async Task CheckAndRepair_EachInconsistency_FoundRepairedAndAudited()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, NoGrace);
        var environments = host.Services.GetRequiredService<IEnvironmentRepository>();
        var envInfo = host.Services.GetRequiredService<EnvInfoStore>();
        var tasks = host.Services.GetRequiredService<ITaskRepository>();
        var durable = host.Services.GetRequiredService<DurableTaskClient>();
        var paths = host.Services.GetRequiredService<DataPaths>();
        var logs = host.Services.GetRequiredService<StorageAccount>().Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(host.Services.GetRequiredService<StorageNames>()));

        // A healthy deployment: environments, recurring tasks with their schedules, a finished run with its log.
        await host.CreateCondaAsync("cons", "alpha==1.0");
        await host.CreateCondaAsync("gone-row");
        var hourly = await host.CreateTaskOkAsync("print('hourly')\n", Fields("hourly", ("interval_seconds", "3600")));
        var yearly = await host.CreateTaskOkAsync("print('yearly')\n", Fields("yearly", ("cron_expression", "0 0 1 1 *")));
        var doomed = await host.CreateTaskOkAsync("print('doomed')\n", Fields("doomed", ("cron_expression", "0 0 1 1 *")));
        var once = await host.CreateTaskOkAsync("print('once')\n", Fields("once"));
        await host.WaitForTaskAsync(once, d => d.HasFinished() && d["task"]!["status"]!.GetValue<string>() == "completed", what: "the one-shot run");
        foreach (var id in new[] { hourly, yearly, doomed })
        {
            Assert.True(await EnvironmentHostForTests.EventuallyAsync(
                async () => await durable.GetInstanceAsync(TaskInstanceIds.Schedule(id)) is { RuntimeStatus: OrchestrationRuntimeStatus.Running }, TimeSpan.FromSeconds(60)), $"schedule of {id}");
        }

        var clean = await CheckAsync(host);
        Assert.True(clean["success"]!.GetValue<bool>());
        Assert.True(clean["findings"]!.AsArray().Count == 0, "a healthy deployment has no findings: " + clean.ToJsonString());
        Assert.Equal(0, clean["grace_seconds"]!.GetValue<int>());
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", clean["checked_at"]!.GetValue<string>());

        // A run whose orchestration is terminated while its process still runs: listed, not repaired.
        var sleeper = await host.CreateTaskOkAsync("import time\nprint('sleeping', flush=True)\ntime.sleep(300)\n", Fields("sleeper"));
        await host.WaitForTaskAsync(sleeper, d => d.Executions().Any(e => e!["status"]!.GetValue<string>() == "running"), what: "the sleeper running");
        var sleeperExecution = (await host.StoredExecutionsAsync(sleeper)).Single();
        var jobs = host.Services.GetRequiredService<RunnerJobTable>();
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(
            async () => sleeperExecution.JobId is { } j && await jobs.GetAsync(j) is { State: RunnerJobStates.Running }, TimeSpan.FromSeconds(60)), "the sleeper's job runs");
        await durable.TerminateInstanceAsync(sleeperExecution.RunId, "test");
        await WaitForStatusAsync(durable, sleeperExecution.RunId, OrchestrationRuntimeStatus.Terminated);

        // Environments: a stray directory, a row deleted behind the API (its directory, env_info and log stay),
        // an env_info file with neither row nor directory, a row without env_info, a ready row without a directory.
        var stray = Path.Combine(paths.Envs, "stray");
        Directory.CreateDirectory(stray);
        await File.WriteAllTextAsync(Path.Combine(stray, "marker"), "x");
        var goneRowOperation = (await environments.GetAsync("gone-row"))!.LastOperationId!;
        Assert.True(await environments.DeleteAsync("gone-row"));
        await envInfo.WriteAsync(new EnvironmentRecord { Name = "ghost", PythonVersion = "3.11", Path = Path.Combine(paths.Envs, "ghost"), Status = EnvironmentStatus.Ready });
        Assert.True(await envInfo.DeleteAsync("cons"));
        var nodir = new EnvironmentRecord
        {
            Name = "nodir", PythonVersion = "3.11", Path = Path.Combine(paths.Envs, "nodir"), Status = EnvironmentStatus.Ready,
            CreatedAt = DateTimeOffset.UtcNow.AddHours(-1), UpdatedAt = DateTimeOffset.UtcNow.AddHours(-1), LastUsedAt = DateTimeOffset.UtcNow.AddHours(-1),
        };
        Assert.Equal(SaveOutcome.Saved, (await environments.AddAsync(nodir)).Outcome);
        await envInfo.WriteAsync(nodir);

        // Tasks: one pointed at a missing environment, one deleted behind the API (its schedule and directory stay),
        // one whose schedule is terminated and which holds an execution stuck running with no run and no job.
        await tasks.MutateAsync(yearly, t => t with { Environment = "vanished" });
        Assert.True(await tasks.DeleteAsync(doomed));
        await durable.TerminateInstanceAsync(TaskInstanceIds.Schedule(hourly), "test");
        await WaitForStatusAsync(durable, TaskInstanceIds.Schedule(hourly), OrchestrationRuntimeStatus.Terminated);
        var stuckId = "20260101000000000-stuck";
        await tasks.UpsertExecutionAsync(new ExecutionRecord
        {
            TaskId = hourly, ExecutionId = stuckId, RunId = $"run-{hourly}-mgone", Trigger = ExecutionTriggers.Manual, Status = ExecutionStatuses.Running,
            Environment = "cons", QueuedAt = DateTimeOffset.UtcNow.AddMinutes(-5), StartTime = DateTimeOffset.UtcNow.AddMinutes(-5), JobId = "job-never-ran",
            LogBlob = ExecutionRecord.LogBlobOf(hourly, stuckId),
        });
        await tasks.MutateAsync(hourly, t => t with { Status = TaskStatuses.Running, CurrentExecutionId = stuckId, CurrentJobId = "job-never-ran" });

        // Orphans: logs of a missing task, of a missing execution and of an unknown operation; script directories.
        var onceExecution = (await host.StoredExecutionsAsync(once)).Single().ExecutionId;
        string[] orphanLogs = ["tasks/999999/20260101000000000-x.log", $"tasks/{once}/20260101000000000-nope.log", "env-ops/envbuild-00000000000000000000000000000000.log"];
        foreach (var blob in orphanLogs)
        {
            await logs.GetBlobClient(blob).UploadAsync(BinaryData.FromString("old output\n"));
        }

        Directory.CreateDirectory(Path.Combine(paths.Scripts, "888888"));
        await File.WriteAllTextAsync(Path.Combine(paths.Scripts, "888888", "main.py"), "print(1)\n");
        Directory.CreateDirectory(Path.Combine(paths.Scripts, ".staging-leftover"));

        var report = await CheckAsync(host);
        var found = Findings(report);
        var expected = new (string Kind, string Subject, bool Repairable)[]
        {
            ("environment_without_row", "stray", false),
            ("environment_without_row", "gone-row", false),
            ("env_info_without_row", "gone-row", true),
            ("env_info_without_row", "ghost", true),
            ("env_info_missing", "cons", true),
            ("environment_directory_missing", "nodir", true),
            ("task_environment_missing", Id(yearly), false),
            ("stuck_execution", $"{hourly}/{stuckId}", true),
            ("stuck_execution", $"{sleeper}/{sleeperExecution.ExecutionId}", false),
            ("schedule_without_task", TaskInstanceIds.Schedule(doomed), true),
            ("task_without_schedule", Id(hourly), true),
            ("orphaned_task_log", orphanLogs[0], true),
            ("orphaned_task_log", orphanLogs[1], true),
            ("orphaned_env_log", orphanLogs[2], true),
            ("orphaned_script_directory", "scripts/888888", true),
            ("orphaned_script_directory", "scripts/.staging-leftover", true),
            ("orphaned_script_directory", $"scripts/{doomed}", true),
        };
        Assert.True(expected.Length == found.Count, "findings: " + report["findings"]!.ToJsonString());
        foreach (var (kind, subject, repairable) in expected)
        {
            Assert.True(found.TryGetValue((kind, subject), out var finding), $"missing {kind} {subject}: {report["findings"]!.ToJsonString()}");
            Assert.Equal(repairable, finding!["repairable"]!.GetValue<bool>());
            Assert.False(string.IsNullOrEmpty(finding["detail"]!.GetValue<string>()));
            Assert.Equal(repairable, finding["action"]!.GetValue<string>() != "none");
        }

        Assert.Equal(3, report["counts"]!["orphaned_script_directory"]!.GetValue<int>());
        Assert.Equal("import_env_info", found[("env_info_without_row", "gone-row")]["action"]!.GetValue<string>());
        Assert.Equal("delete_env_info", found[("env_info_without_row", "ghost")]["action"]!.GetValue<string>());
        Assert.DoesNotContain(found.Keys, k => k.Subject == $"env-ops/{goneRowOperation}.log");

        // A dry run lists the actions and changes nothing.
        var (dryResponse, dry) = await host.SendAsync(HttpMethod.Post, "/api/system/consistency/repair?dry_run=true");
        Assert.Equal(HttpStatusCode.OK, dryResponse.StatusCode);
        Assert.True(dry!["dry_run"]!.GetValue<bool>());
        var planned = dry["actions"]!.AsArray();
        Assert.Equal(expected.Count(e => e.Repairable), planned.Count);
        Assert.All(planned, a => Assert.Equal("planned", a!["outcome"]!.GetValue<string>()));
        Assert.Equal(expected.Count(e => !e.Repairable), dry["not_repairable"]!.AsArray().Count);
        Assert.Equal(Keys(report), Keys(await CheckAsync(host)));
        Assert.Empty(await AuditAsync(host));
        Assert.True(Directory.Exists(Path.Combine(paths.Scripts, "888888")));

        // The repair does each action; a second check holds only what is not repairable.
        var (repairResponse, repaired) = await host.SendAsync(HttpMethod.Post, "/api/system/consistency/repair");
        Assert.Equal(HttpStatusCode.OK, repairResponse.StatusCode);
        Assert.False(repaired!["dry_run"]!.GetValue<bool>());
        var actions = repaired["actions"]!.AsArray();
        Assert.True(actions.All(a => a!["outcome"]!.GetValue<string>() == "done"), repaired.ToJsonString());
        Assert.Equal(planned.Count, actions.Count);

        var after = Findings(await CheckAsync(host));
        Assert.Equal(
            [("environment_without_row", "stray"), ("stuck_execution", $"{sleeper}/{sleeperExecution.ExecutionId}"), ("task_environment_missing", Id(yearly))],
            after.Keys.Order().ToArray());

        // Each effect, for real.
        Assert.True(Directory.Exists(stray));
        Assert.Equal(EnvironmentStatus.Ready, (await environments.GetAsync("gone-row"))?.Status);
        Assert.Null(await envInfo.ReadAsync("ghost"));
        Assert.NotNull(await envInfo.ReadAsync("cons"));
        Assert.Equal(EnvironmentStatus.Failed, (await environments.GetAsync("nodir"))!.Status);
        var stuck = await tasks.GetExecutionAsync(hourly, stuckId);
        Assert.Equal(ExecutionStatuses.Abnormal, stuck!.Status);
        var hourlyTask = await tasks.GetAsync(hourly);
        Assert.Equal(TaskStatuses.Scheduled, hourlyTask!.Status);
        Assert.Null(hourlyTask.CurrentExecutionId);
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(
            async () => await durable.GetInstanceAsync(TaskInstanceIds.Schedule(hourly)) is { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending }, TimeSpan.FromSeconds(60)));
        Assert.Null(await durable.GetInstanceAsync(TaskInstanceIds.Schedule(doomed)));
        foreach (var blob in orphanLogs)
        {
            Assert.False((await logs.GetBlobClient(blob).ExistsAsync()).Value, blob);
        }

        Assert.True((await logs.GetBlobClient(ExecutionRecord.LogBlobOf(once, onceExecution)).ExistsAsync()).Value);
        Assert.False(Directory.Exists(Path.Combine(paths.Scripts, "888888")));
        Assert.False(Directory.Exists(Path.Combine(paths.Scripts, ".staging-leftover")));
        Assert.False(Directory.Exists(Path.Combine(paths.Scripts, Id(doomed))));
        Assert.True(Directory.Exists(Path.Combine(paths.Scripts, Id(once))));
        Assert.Equal(ExecutionStatuses.Running, (await tasks.GetExecutionAsync(sleeper, sleeperExecution.ExecutionId))!.Status);

        // One audit row per action, with its kind, subject and action.
        var audited = await AuditAsync(host);
        Assert.Equal(actions.Count, audited.Count);
        foreach (var action in actions)
        {
            var kind = action!["kind"]!.GetValue<string>();
            var subject = action["subject"]!.GetValue<string>();
            Assert.Contains(audited, row =>
            {
                var inputs = JsonNode.Parse(row["inputs"]!.GetValue<string>())!;
                return inputs["kind"]!.GetValue<string>() == kind && inputs["subject"]!.GetValue<string>() == subject
                    && inputs["action"]!.GetValue<string>() == action["action"]!.GetValue<string>() && row["outcome"]!.GetValue<string>() == "succeeded";
            });
        }

        // Stopped, the sleeper's process ends; its execution is then stuck with no live job, and repaired.
        var (stopped, _) = await host.ControlAsync(sleeper, "stop");
        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        Assert.True(await EnvironmentHostForTests.EventuallyAsync(
            async () => await jobs.GetAsync(sleeperExecution.JobId!) is { State: RunnerJobStates.Finished }, TimeSpan.FromSeconds(60)), "the sleeper's job ends");
        var nowStuck = Findings(await CheckAsync(host))[("stuck_execution", $"{sleeper}/{sleeperExecution.ExecutionId}")];
        Assert.True(nowStuck["repairable"]!.GetValue<bool>(), nowStuck.ToJsonString());
        var (_, second) = await host.SendAsync(HttpMethod.Post, "/api/system/consistency/repair");
        Assert.Equal("done", second!["actions"]!.AsArray().Single()!["outcome"]!.GetValue<string>());
        Assert.Equal(ExecutionStatuses.Abnormal, (await tasks.GetExecutionAsync(sleeper, sleeperExecution.ExecutionId))!.Status);
    }

    [Fact]
    public async Task Check_FreshOrLockedObjectsLeftAlone_ProjectsOnlyWithTheirTable_AdminOnly()
    {
        // The default grace (300 s): what was just written is neither listed nor touched.
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, runner: false);
        var paths = host.Services.GetRequiredService<DataPaths>();
        var logs = host.Services.GetRequiredService<StorageAccount>().Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(host.Services.GetRequiredService<StorageNames>()));
        var fresh = Path.Combine(paths.Scripts, "777777");
        Directory.CreateDirectory(fresh);
        await File.WriteAllTextAsync(Path.Combine(fresh, "main.py"), "print(1)\n");
        await logs.CreateIfNotExistsAsync();
        await logs.GetBlobClient("tasks/777777/20260101000000000-x.log").UploadAsync(BinaryData.FromString("fresh\n"));

        var report = await CheckAsync(host);
        Assert.Equal(300, report["grace_seconds"]!.GetValue<int>());
        Assert.Empty(report["findings"]!.AsArray());
        Assert.True(report["skipped_recent"]!.GetValue<int>() >= 2, report.ToJsonString());
        var (_, repaired) = await host.SendAsync(HttpMethod.Post, "/api/system/consistency/repair");
        Assert.Empty(repaired!["actions"]!.AsArray());
        Assert.True(Directory.Exists(fresh));
        Assert.True((await logs.GetBlobClient("tasks/777777/20260101000000000-x.log").ExistsAsync()).Value);

        // Made old, the same directory is an orphan.
        Directory.SetLastWriteTimeUtc(fresh, DateTime.UtcNow.AddHours(-1));
        File.SetLastWriteTimeUtc(Path.Combine(fresh, "main.py"), DateTime.UtcNow.AddHours(-1));
        Assert.Contains(Findings(await CheckAsync(host)).Keys, k => k == ("orphaned_script_directory", "scripts/777777"));

        // An environment whose lock an operation holds is in flight: its missing directory is not a finding until the lock goes.
        var locks = host.Services.GetRequiredService<IEnvironmentLock>();
        var old = DateTimeOffset.UtcNow.AddHours(-1);
        var building = new EnvironmentRecord { Name = "building", PythonVersion = "3.11", Path = Path.Combine(paths.Envs, "building"), Status = EnvironmentStatus.Ready, CreatedAt = old, UpdatedAt = old, LastUsedAt = old };
        Assert.Equal(SaveOutcome.Saved, (await host.Services.GetRequiredService<IEnvironmentRepository>().AddAsync(building)).Outcome);
        await host.Services.GetRequiredService<EnvInfoStore>().WriteAsync(building);
        Assert.True((await locks.TryAcquireAsync("building", "envbuild-test", "reset", TimeSpan.FromMinutes(10))).Acquired);
        Assert.DoesNotContain(Findings(await CheckAsync(host)).Keys, k => k.Subject == "building");
        var (_, whileLocked) = await host.SendAsync(HttpMethod.Post, "/api/system/consistency/repair?dry_run=true");
        Assert.DoesNotContain(whileLocked!["actions"]!.AsArray(), a => a!["subject"]!.GetValue<string>() == "building");
        Assert.True(await locks.ReleaseAsync("building", "envbuild-test"));
        Assert.Contains(Findings(await CheckAsync(host)).Keys, k => k == ("environment_directory_missing", "building"));

        // Project directories are checked only once a Projects table exists; one without a row is listed, never repaired.
        foreach (var project in new[] { "kept", "lost" })
        {
            Directory.CreateDirectory(Path.Combine(paths.Projects, project));
            Directory.SetLastWriteTimeUtc(Path.Combine(paths.Projects, project), DateTime.UtcNow.AddHours(-1));
        }

        Assert.DoesNotContain(Findings(await CheckAsync(host)).Keys, k => k.Kind == "orphaned_project_directory");
        var projects = host.Services.GetRequiredService<StorageAccount>().Tables.GetTableClient(host.Services.GetRequiredService<StorageNames>().Table("Projects"));
        await projects.CreateIfNotExistsAsync();
        await projects.AddEntityAsync(new Azure.Data.Tables.TableEntity("project", "kept"));
        var withProjects = Findings(await CheckAsync(host));
        Assert.Equal(["projects/lost"], withProjects.Keys.Where(k => k.Kind == "orphaned_project_directory").Select(k => k.Subject).ToArray());
        Assert.False(withProjects[("orphaned_project_directory", "projects/lost")]["repairable"]!.GetValue<bool>());

        var (badResponse, bad) = await host.SendAsync(HttpMethod.Post, "/api/system/consistency/repair?dry_run=maybe");
        Assert.Equal(HttpStatusCode.BadRequest, badResponse.StatusCode);
        Assert.False(bad!["success"]!.GetValue<bool>());
        Assert.Equal("Invalid dry_run", bad["message"]!.GetValue<string>());
        Assert.True(Directory.Exists(fresh));

        // A user key gets 403 in seed 003's format on both routes.
        var (_, key) = await host.SendAsync(HttpMethod.Post, "/api/keys", new { name = "plain-user", role = "user", @namespace = "team-a" });
        using var user = host.App.CreateClient();
        user.DefaultRequestHeaders.Add("x-functions-key", key!["key"]!["value"]!.GetValue<string>());
        foreach (var (method, url) in new[] { (HttpMethod.Get, "/api/system/consistency"), (HttpMethod.Post, "/api/system/consistency/repair") })
        {
            using var response = await user.SendAsync(new HttpRequestMessage(method, url));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.False(body["success"]!.GetValue<bool>());
            Assert.NotNull(body["message"]);
        }

        Assert.True(Directory.Exists(fresh));
    }

    [Fact]
    public async Task Check_ThousandsOfObjects_PagesThroughAndFindsOnlyTheOrphans()
    {
        await using var host = await EnvironmentHostForTests.StartAsync(azurite, NoGrace, runner: false);
        var tasks = host.Services.GetRequiredService<ITaskRepository>();
        var environments = host.Services.GetRequiredService<IEnvironmentRepository>();
        var envInfo = host.Services.GetRequiredService<EnvInfoStore>();
        var paths = host.Services.GetRequiredService<DataPaths>();
        var logs = host.Services.GetRequiredService<StorageAccount>().Blobs.GetBlobContainerClient(RunnerStorage.LogsContainer(host.Services.GetRequiredService<StorageNames>()));
        await logs.CreateIfNotExistsAsync();
        var environment = new EnvironmentRecord { Name = "big", PythonVersion = "3.11", Path = Path.Combine(paths.Envs, "big"), Status = EnvironmentStatus.Ready };
        Directory.CreateDirectory(environment.Path);
        await environments.AddAsync(environment);
        await envInfo.WriteAsync(environment);

        // 2,000 finished one-shot tasks, each with its directory, execution and log; 1,000 orphaned directories and logs.
        const int Tasks = 2000, Orphans = 1000;
        await Parallel.ForEachAsync(Enumerable.Range(1, Tasks + Orphans), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var id = (long)i;
            Directory.CreateDirectory(Path.Combine(paths.Scripts, Id(id)));
            var executionId = "20260101000000000-e" + Id(id);
            await logs.GetBlobClient(ExecutionRecord.LogBlobOf(id, executionId)).UploadAsync(BinaryData.FromString("out\n"), ct);
            if (i > Tasks)
            {
                return;
            }

            var now = DateTimeOffset.UtcNow;
            await tasks.AddAsync(new TaskRecord { TaskId = id, Name = "t" + Id(id), Environment = "big", Status = TaskStatuses.Completed, CreatedAt = now, UpdatedAt = now }, ct);
            await tasks.UpsertExecutionAsync(new ExecutionRecord
            {
                TaskId = id, ExecutionId = executionId, RunId = "run-" + Id(id), Trigger = ExecutionTriggers.Manual, Status = ExecutionStatuses.Completed,
                Environment = "big", QueuedAt = now, EndTime = now, LogBlob = ExecutionRecord.LogBlobOf(id, executionId),
            }, ct);
        });

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var report = await CheckAsync(host);
        watch.Stop();
        Console.WriteLine($"consistency.check_ms.{Tasks}_tasks_{Orphans}_orphans={watch.ElapsedMilliseconds}");
        Assert.Equal(Orphans, report["counts"]!["orphaned_task_log"]!.GetValue<int>());
        Assert.Equal(Orphans, report["counts"]!["orphaned_script_directory"]!.GetValue<int>());
        Assert.Equal(2 * Orphans, report["findings"]!.AsArray().Count);
        Assert.True(watch.Elapsed < TimeSpan.FromMinutes(3), $"the check took {watch.Elapsed}");
    }

    [Theory]
    [InlineData("-1", "Setting CONSISTENCY_GRACE_SECONDS: '-1' is out of range (use 0 to 86400)")]
    [InlineData("soon", "Setting CONSISTENCY_GRACE_SECONDS: 'soon' is not a whole number")]
    public void ReadGraceSeconds_WrongValue_NamesTheSetting(string value, string message)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["CONSISTENCY_GRACE_SECONDS"] = value }).Build();
        var error = Assert.Throws<InvalidSettingException>(() => ConsistencyExtensions.ReadGraceSeconds(configuration));
        Assert.Equal(message, error.Message);
        Assert.Equal(300, ConsistencyExtensions.ReadGraceSeconds(new ConfigurationBuilder().Build()));
    }

    private static Dictionary<string, string> Fields(string name, params (string Key, string Value)[] extra)
    {
        var fields = new Dictionary<string, string> { ["conda_env"] = "cons", ["task_name"] = name };
        foreach (var (key, value) in extra)
        {
            fields[key] = value;
        }

        return fields;
    }

    private static string Id(long taskId) => taskId.ToString(CultureInfo.InvariantCulture);

    private static async Task<JsonNode> CheckAsync(EnvironmentHostForTests host)
    {
        var (response, body) = await host.SendAsync(HttpMethod.Get, "/api/system/consistency");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"check: {(int)response.StatusCode} {body?.ToJsonString()}");
        return body!;
    }

    private static Dictionary<(string Kind, string Subject), JsonNode> Findings(JsonNode report) =>
        report["findings"]!.AsArray().ToDictionary(f => (f!["kind"]!.GetValue<string>(), f["subject"]!.GetValue<string>()), f => f!);

    private static string[] Keys(JsonNode report) => Findings(report).Keys.Select(k => k.Kind + " " + k.Subject).Order(StringComparer.Ordinal).ToArray();

    private static async Task<List<JsonNode>> AuditAsync(EnvironmentHostForTests host)
    {
        var (response, body) = await host.SendAsync(HttpMethod.Get, "/api/audit?operation=system.repair&limit=1000");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return body!["items"]!.AsArray().Select(i => i!).ToList();
    }

    private static async Task WaitForStatusAsync(DurableTaskClient durable, string instanceId, OrchestrationRuntimeStatus status) =>
        Assert.True(
            await EnvironmentHostForTests.EventuallyAsync(async () => (await durable.GetInstanceAsync(instanceId))?.RuntimeStatus == status, TimeSpan.FromSeconds(60)),
            $"{instanceId} did not become {status}");
}
