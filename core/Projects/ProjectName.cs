namespace EnvFabric.Core.Projects;

/// <summary>
/// Project names: the rules of environment names (1-64 characters of <c>[A-Za-z0-9._-]</c>, not starting with
/// <c>.</c> or <c>-</c>, no <c>..</c>), since a name becomes <c>projects/&lt;name&gt;</c> on the share and a table key.
/// </summary>
public static class ProjectName
{
    /// <summary>Longest name.</summary>
    public const int MaxLength = Validation.EnvironmentName.MaxLength;

    /// <summary>Null when <paramref name="name"/> is valid, else the reason.</summary>
    public static string? Validate(string? name) =>
        Validation.EnvironmentName.Validate(name)?.Replace("environment name", "project name", StringComparison.Ordinal);

    /// <summary>Whether <paramref name="name"/> is a valid project name.</summary>
    public static bool IsValid(string? name) => Validate(name) is null;
}
