using System.Globalization;
using Azure;
using EnvFabric.Core.Monitoring;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Functions;

/// <summary>Seed 003's <c>system_resources</c>: hourly over the last 24 hours.</summary>
public sealed record SystemResources(IReadOnlyList<string> Timestamps, IReadOnlyList<double?> MemoryUsage, double TotalMemory, IReadOnlyList<int> TaskCounts);

/// <summary>Seed 003's <c>task_success_rate</c> (the pie): executions by how they ended.</summary>
public sealed record SuccessRateBreakdown(int Success, int Failed, int Cancelled, int Abnormal);

/// <summary>Seed 003's <c>last_7_days</c>.</summary>
public sealed record LastSevenDays(IReadOnlyList<string> Dates, IReadOnlyList<int> SuccessCounts, IReadOnlyList<int> FailedCounts);

/// <summary>One of <c>upcoming_tasks</c>.</summary>
public sealed record UpcomingTask(long TaskId, string TaskName, string CondaEnv, string Command, string ScheduledTime, string? CronExpression);

/// <summary>One of <c>recent_tasks</c>.</summary>
public sealed record RecentTask(long TaskId, string Name, string Status, string? StartTime, string? EndTime, double? Duration);

/// <summary><c>GET /api/tasks/stats</c>.</summary>
public sealed record TaskStatsView(
    int Total,
    int Scheduled,
    int Running,
    int Completed,
    int Failed,
    int Paused,
    int StoppedCount,
    double AvgDuration,
    double MinDuration,
    double MaxDuration,
    double SuccessRate,
    SystemResources? SystemResources,
    SuccessRateBreakdown TaskSuccessRate,
    [property: System.Text.Json.Serialization.JsonPropertyName("last_7_days")] LastSevenDays Last7Days,
    IReadOnlyList<UpcomingTask> UpcomingTasks,
    IReadOnlyList<RecentTask> RecentTasks);

/// <summary>
/// The dashboard figures, from the tables: task counts by status, execution durations and outcomes, and the runner
/// hosts' memory as sampled by <see cref="SystemSampler"/> (null when there are no samples, as the seed says).
/// </summary>
public sealed class TaskStats(ITaskRepository tasks, SystemSampleStore samples, TimeProvider time)
{
    public async Task<TaskStatsView> ComputeAsync(string? ns, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var all = new List<TaskRecord>();
        await foreach (var task in tasks.ListAsync(ns, cancellationToken).ConfigureAwait(false))
        {
            all.Add(task);
        }

        var byId = all.ToDictionary(t => t.TaskId);
        var executions = new List<ExecutionRecord>();
        await foreach (var e in tasks.ListExecutionsSinceAsync(now.AddDays(-30), cancellationToken).ConfigureAwait(false))
        {
            if (byId.ContainsKey(e.TaskId))
            {
                executions.Add(e);
            }
        }

        int Count(string status) => all.Count(t => t.Status == status);
        var completed = Count(TaskStatuses.Completed);
        var failed = Count(TaskStatuses.Failed);
        var durations = executions.Where(e => e.Duration is not null && ExecutionStatuses.IsFinal(e.Status) && e.Status != ExecutionStatuses.Skipped).Select(e => e.Duration!.Value).ToList();

        var days = Enumerable.Range(0, 7).Select(i => now.UtcDateTime.Date.AddDays(i - 6)).ToList();
        var ended = executions.Where(e => e.EndTime is not null).ToList();
        var last7 = new LastSevenDays(
            days.Select(d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).ToList(),
            days.Select(d => ended.Count(e => e.EndTime!.Value.UtcDateTime.Date == d && e.Status == ExecutionStatuses.Completed)).ToList(),
            days.Select(d => ended.Count(e => e.EndTime!.Value.UtcDateTime.Date == d && e.Status is ExecutionStatuses.Failed or ExecutionStatuses.Timeout or ExecutionStatuses.Abnormal)).ToList());

        var upcoming = all.Where(t => t.NextRunAt is not null && t.Status is TaskStatuses.Scheduled or TaskStatuses.Running)
            .OrderBy(t => t.NextRunAt)
            .Take(10)
            .Select(t => new UpcomingTask(t.TaskId, t.Name, t.Environment, t.Command, TaskFunctions.Date(t.NextRunAt)!, t.Trigger.CronExpression))
            .ToList();
        var recent = executions.Where(e => e.StartTime is not null && e.Status != ExecutionStatuses.Skipped)
            .OrderByDescending(e => e.StartTime)
            .Take(5)
            .Select(e => new RecentTask(e.TaskId, byId[e.TaskId].Name, e.Status, TaskFunctions.Date(e.StartTime), TaskFunctions.Date(e.EndTime), e.Duration))
            .ToList();

        return new TaskStatsView(
            all.Count,
            Count(TaskStatuses.Scheduled),
            Count(TaskStatuses.Running),
            completed,
            failed,
            Count(TaskStatuses.Paused),
            Count(TaskStatuses.Stopped),
            durations.Count == 0 ? 0 : Math.Round(durations.Average(), 3),
            durations.Count == 0 ? 0 : durations.Min(),
            durations.Count == 0 ? 0 : durations.Max(),
            completed + failed == 0 ? 0 : Math.Round(100.0 * completed / (completed + failed), 1),
            await ResourcesAsync(now, executions, cancellationToken).ConfigureAwait(false),
            new SuccessRateBreakdown(
                executions.Count(e => e.Status == ExecutionStatuses.Completed),
                executions.Count(e => e.Status is ExecutionStatuses.Failed or ExecutionStatuses.Timeout),
                executions.Count(e => e.Status == ExecutionStatuses.Cancelled),
                executions.Count(e => e.Status == ExecutionStatuses.Abnormal)),
            last7,
            upcoming,
            recent);
    }

    private async Task<SystemResources?> ResourcesAsync(DateTimeOffset now, List<ExecutionRecord> executions, CancellationToken cancellationToken)
    {
        var firstHour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(-23);
        var hours = Enumerable.Range(0, 24).Select(i => firstHour.AddHours(i)).ToList();
        IReadOnlyList<SystemSample> rows;
        try
        {
            rows = await samples.ReadRawAsync(firstHour, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }

        var runnerRows = rows.Where(r => r.Source.StartsWith("runner:", StringComparison.Ordinal) && r.MemoryUsedMb is not null).ToList();
        if (runnerRows.Count == 0)
        {
            return null;
        }

        // Per hour: the runners' memory summed at each sampling time, averaged over the times.
        var usage = hours.Select(h =>
        {
            var sums = runnerRows.Where(x => SystemSampleStore.HourOf(x.At) == h).GroupBy(x => x.At).Select(g => g.Sum(x => x.MemoryUsedMb!.Value)).ToList();
            return sums.Count == 0 ? (double?)null : Math.Round(sums.Average(), 1);
        }).ToList();
        var latest = runnerRows.GroupBy(x => x.Source, StringComparer.Ordinal).Select(g => g.OrderByDescending(x => x.At).First().MemoryTotalMb ?? 0).Sum();
        var counts = hours.Select(h => executions.Count(e => e.StartTime is { } t && t >= h && t < h.AddHours(1))).ToList();
        return new SystemResources(hours.Select(h => h.ToString("yyyy-MM-dd HH:00:00", CultureInfo.InvariantCulture)).ToList(), usage, latest, counts);
    }
}
