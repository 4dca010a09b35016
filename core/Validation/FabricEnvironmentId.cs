namespace EnvFabric.Core.Validation;

/// <summary>
/// Seed 001's environment identity (workflow, node, version), which is the environment named
/// <c>{workflow_id}_{node_id}_{version_id}</c>. Each id is 1-20 characters of <c>[A-Za-z0-9.-]</c>, not
/// starting with <c>.</c> or <c>-</c> and without <c>..</c>; underscores are refused so the mapping to a name
/// stays one-to-one (<c>a_b</c>/<c>c</c> and <c>a</c>/<c>b_c</c> would otherwise collide).
/// </summary>
/// <param name="WorkflowId">The workflow id.</param>
/// <param name="NodeId">The node id.</param>
/// <param name="VersionId">The version id (<see cref="DefaultVersion"/> when the request names none).</param>
public sealed record FabricEnvironmentId(string WorkflowId, string NodeId, string VersionId)
{
    /// <summary>The version used when a request omits <c>version_id</c>.</summary>
    public const string DefaultVersion = "v1";

    /// <summary>Longest id.</summary>
    public const int MaxIdLength = 20;

    /// <summary>The environment name: <c>{workflow_id}_{node_id}_{version_id}</c>.</summary>
    public string EnvironmentName => $"{WorkflowId}_{NodeId}_{VersionId}";

    /// <summary>The uv project name seed 001 shows: <c>{workflow_id}-{node_id}</c>, PEP 503 normalised.</summary>
    public string ProjectName => PackageSpec.NormalizeName($"{WorkflowId}-{NodeId}");

    /// <summary>Validates the three ids; <paramref name="versionId"/> empty or null means <see cref="DefaultVersion"/>.</summary>
    public static FabricIdResult Create(string? workflowId, string? nodeId, string? versionId)
    {
        var errors = new List<string>();
        Check("workflow_id", workflowId, errors);
        Check("node_id", nodeId, errors);
        var version = string.IsNullOrEmpty(versionId) ? DefaultVersion : versionId;
        Check("version_id", version, errors);
        return errors.Count == 0
            ? new FabricIdResult(new FabricEnvironmentId(workflowId!, nodeId!, version), null)
            : new FabricIdResult(null, string.Join("; ", errors));
    }

    /// <summary>Null when <paramref name="id"/> is a valid workflow, node or version id, else the reason.</summary>
    public static string? ValidateId(string field, string? id)
    {
        var errors = new List<string>();
        Check(field, id, errors);
        return errors.Count == 0 ? null : errors[0];
    }

    private static void Check(string field, string? id, List<string> errors)
    {
        if (string.IsNullOrEmpty(id))
        {
            errors.Add($"{field} is required");
        }
        else if (id.Length > MaxIdLength)
        {
            errors.Add($"{field} must be at most {MaxIdLength} characters (got {id.Length})");
        }
        else if (!id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-'))
        {
            errors.Add($"{field} '{PackageSpec.Shorten(id)}' may only contain letters, digits, '.' and '-'");
        }
        else if (id[0] is '.' or '-' || id.Contains("..", StringComparison.Ordinal))
        {
            errors.Add($"{field} '{id}' must not start with '.' or '-' nor contain '..'");
        }
    }
}

/// <summary>The validated identity, or why it was refused.</summary>
/// <param name="Id">The identity when valid.</param>
/// <param name="Error">The reason when not.</param>
public sealed record FabricIdResult(FabricEnvironmentId? Id, string? Error)
{
    /// <summary>True when <see cref="Id"/> is set.</summary>
    public bool IsValid => Id is not null;
}
