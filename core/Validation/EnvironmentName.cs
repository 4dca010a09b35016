namespace EnvFabric.Core.Validation;

/// <summary>
/// Environment names: 1-64 characters of <c>[A-Za-z0-9._-]</c>, not starting with <c>.</c> or <c>-</c>, no
/// <c>..</c>. They become directory and file names on the share (<c>envs/&lt;name&gt;</c>,
/// <c>env_info/&lt;name&gt;.json</c>), so nothing that could leave those directories gets through.
/// </summary>
public static class EnvironmentName
{
    /// <summary>Longest name.</summary>
    public const int MaxLength = 64;

    /// <summary>Null when <paramref name="name"/> is valid, else the reason.</summary>
    public static string? Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "environment name must not be empty";
        }

        if (name.Length > MaxLength)
        {
            return $"environment name must be at most {MaxLength} characters (got {name.Length})";
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return c is '/' or '\\'
                    ? $"environment name '{PackageSpec.Shorten(name)}' must not contain path separators"
                    : $"environment name '{PackageSpec.Shorten(name)}' may only contain letters, digits, '.', '_' and '-'";
            }
        }

        if (name[0] is '.' or '-')
        {
            return $"environment name '{name}' must not start with '.' or '-'";
        }

        if (name.Contains("..", StringComparison.Ordinal))
        {
            return $"environment name '{name}' must not contain '..'";
        }

        return null;
    }

    /// <summary>Whether <paramref name="name"/> is a valid environment name.</summary>
    public static bool IsValid(string? name) => Validate(name) is null;
}
