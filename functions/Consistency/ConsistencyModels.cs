using System.Text.Json.Serialization;

namespace EnvFabric.Functions.Consistency;

/// <summary>What the consistency check looks for; the <c>kind</c> of a finding.</summary>
public static class ConsistencyKinds
{
    /// <summary>A directory under ENVS_BASE_PATH that no Environments row points to.</summary>
    public const string EnvironmentWithoutRow = "environment_without_row";

    /// <summary>A ready Environments row whose directory is gone.</summary>
    public const string EnvironmentDirectoryMissing = "environment_directory_missing";

    /// <summary>An <c>env_info/{name}.json</c> without an Environments row.</summary>
    public const string EnvInfoWithoutRow = "env_info_without_row";

    /// <summary>A ready or failed Environments row without its <c>env_info</c> file.</summary>
    public const string EnvInfoMissing = "env_info_missing";

    /// <summary>A task whose environment has no row.</summary>
    public const string TaskEnvironmentMissing = "task_environment_missing";

    /// <summary>An execution <c>queued</c> or <c>running</c> whose <c>TaskRun</c> ended and whose runner job is not alive.</summary>
    public const string StuckExecution = "stuck_execution";

    /// <summary>A running <c>schedule-{id}</c> whose task is gone, stopped or has nothing to schedule.</summary>
    public const string ScheduleWithoutTask = "schedule_without_task";

    /// <summary>A task that should have a running <c>schedule-{id}</c> and has none.</summary>
    public const string TaskWithoutSchedule = "task_without_schedule";

    /// <summary>An execution log blob whose task or execution is gone.</summary>
    public const string OrphanedTaskLog = "orphaned_task_log";

    /// <summary>An environment operation's log blob whose environment is gone.</summary>
    public const string OrphanedEnvironmentLog = "orphaned_env_log";

    /// <summary>A <c>scripts/{id}</c> directory without a task, or an upload's staging directory left behind.</summary>
    public const string OrphanedScriptDirectory = "orphaned_script_directory";

    /// <summary>A <c>projects/{name}</c> directory without a Projects row (only when that table exists).</summary>
    public const string OrphanedProjectDirectory = "orphaned_project_directory";
}

/// <summary>What a repair does about a finding; <see cref="None"/> when it is listed only.</summary>
public static class ConsistencyActions
{
    public const string None = "none";
    public const string ImportEnvInfo = "import_env_info";
    public const string DeleteEnvInfo = "delete_env_info";
    public const string WriteEnvInfo = "write_env_info";
    public const string MarkEnvironmentFailed = "mark_environment_failed";
    public const string MarkAbnormal = "mark_abnormal";
    public const string TerminateSchedule = "terminate_schedule";
    public const string StartSchedule = "start_schedule";
    public const string DeleteBlob = "delete_blob";
    public const string DeleteDirectory = "delete_directory";
}

/// <summary>One disagreement between the tables, the share and the durable engine.</summary>
/// <param name="Kind">One of <see cref="ConsistencyKinds"/>.</param>
/// <param name="Subject">What it is about: an environment name, a task id, <c>{task_id}/{execution_id}</c>, an instance id, a blob name or a share path.</param>
/// <param name="Detail">What disagrees, and why it is or is not repaired.</param>
/// <param name="Repairable">Whether <c>POST /api/system/consistency/repair</c> acts on it.</param>
/// <param name="Action">One of <see cref="ConsistencyActions"/>.</param>
public sealed record ConsistencyFinding(string Kind, string Subject, string Detail, bool Repairable, string Action);

/// <summary>The answer of <c>GET /api/system/consistency</c>.</summary>
public sealed record ConsistencyReport(
    [property: JsonPropertyName("checked_at")] string CheckedAt,
    [property: JsonPropertyName("grace_seconds")] int GraceSeconds,
    IReadOnlyList<ConsistencyFinding> Findings,
    IReadOnlyDictionary<string, int> Counts,
    [property: JsonPropertyName("skipped_recent")] int SkippedRecent)
{
    [JsonPropertyOrder(-1)]
    public bool Success => true;
}

/// <summary>One repair action and how it went: <c>planned</c> (dry run), <c>done</c>, <c>skipped</c> (the state changed since the check) or <c>failed</c>.</summary>
public sealed record RepairAction(string Kind, string Subject, string Action, string Outcome, string Detail);

/// <summary>The answer of <c>POST /api/system/consistency/repair</c>.</summary>
public sealed record RepairReport(
    string Message,
    [property: JsonPropertyName("dry_run")] bool DryRun,
    [property: JsonPropertyName("checked_at")] string CheckedAt,
    IReadOnlyList<RepairAction> Actions,
    [property: JsonPropertyName("not_repairable")] IReadOnlyList<ConsistencyFinding> NotRepairable,
    IReadOnlyDictionary<string, int> Counts)
{
    [JsonPropertyOrder(-1)]
    public bool Success => true;
}

/// <summary>CONSISTENCY_GRACE_SECONDS: nothing changed more recently than this is reported or touched.</summary>
public sealed class ConsistencyOptions
{
    /// <summary>Seconds; default 300.</summary>
    public int GraceSeconds { get; set; } = 300;

    public TimeSpan Grace => TimeSpan.FromSeconds(GraceSeconds);
}
