namespace EnvFabric.Functions;

/// <summary>Seed 002's instance: one execution (attempt) of a task; <c>run_id</c> is the execution id. Times are ISO 8601 (UTC), as seed 002's Go <c>time.Time</c> fields marshal.</summary>
public sealed record V2InstanceView(
    string RunId,
    long TaskId,
    string Uuid,
    string Name,
    string Status,
    int Attempt,
    string Trigger,
    string Pool,
    DateTimeOffset? QueuedTime,
    DateTimeOffset? StartTime,
    DateTimeOffset? EndTime,
    int? ExitCode,
    double? Duration,
    double? PeakMemoryMb,
    double? AvgMemoryMb,
    double? CpuSeconds,
    string? Error,
    string? RunnerId,
    IReadOnlyList<string> Tags,
    V2CallbackView? Callback);

/// <summary>An instance's completion callback: <c>pending</c>, <c>delivered</c> or <c>failed</c>, the attempts, the last error and when.</summary>
public sealed record V2CallbackView(string Status, int Attempts, string? Error, DateTimeOffset? At);

/// <summary><c>GET /v2/instances</c>: the matching count and one page of them, newest first.</summary>
public sealed record V2InstancePage(int Total, IReadOnlyList<V2InstanceView> Instances);

/// <summary><c>GET /v2/instances/{runid}/status</c>.</summary>
public sealed record V2InstanceStatus(string Status);

/// <summary>The body of <c>POST /v2/instances/{runid}/tags</c>: the tags that replace the instance's.</summary>
public sealed record V2InstanceTagsBody(IReadOnlyList<string?>? Tags);
