using System.Globalization;
using System.Text.RegularExpressions;

namespace EnvFabric.Core.Settings;

/// <summary>The kinds of a variable: shown as it is, or encrypted at rest and never shown.</summary>
public static class VariableTypes
{
    /// <summary>Stored and shown as it is; logged by the runner like any environment variable.</summary>
    public const string Plain = "plain";

    /// <summary>Encrypted at rest, never returned by the API, masked as <c>***</c> in run logs.</summary>
    public const string Secret = "secret";

    /// <summary>Whether <paramref name="type"/> is one of the two.</summary>
    public static bool IsValid(string? type) => type is Plain or Secret;
}

/// <summary>
/// Where a variable applies: every run (system), the runs of one namespace's tasks, or one task's runs. The
/// <see cref="Key"/> (<c>system</c>, <c>ns:{namespace}</c>, <c>task:{id}</c>) is the table's partition key and part
/// of a secret's associated data.
/// </summary>
public sealed record VariableScope
{
    private VariableScope(string key, string? @namespace, long? taskId)
    {
        Key = key;
        Namespace = @namespace;
        TaskId = taskId;
    }

    /// <summary>Every run.</summary>
    public static VariableScope System { get; } = new("system", null, null);

    /// <summary>The partition key: <c>system</c>, <c>ns:{namespace}</c> or <c>task:{id}</c>.</summary>
    public string Key { get; }

    /// <summary>The namespace of a namespace scope.</summary>
    public string? Namespace { get; }

    /// <summary>The task of a task scope.</summary>
    public long? TaskId { get; }

    /// <summary><c>system</c>, <c>namespace</c> or <c>task</c>.</summary>
    public string Kind => TaskId is not null ? "task" : Namespace is not null ? "namespace" : "system";

    /// <summary>The runs of the tasks of <paramref name="namespace"/>.</summary>
    public static VariableScope ForNamespace(string @namespace)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        return new("ns:" + @namespace, @namespace, null);
    }

    /// <summary>The runs of task <paramref name="taskId"/>.</summary>
    public static VariableScope ForTask(long taskId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(taskId, 1);
        return new("task:" + taskId.ToString(CultureInfo.InvariantCulture), null, taskId);
    }

    /// <summary>The scope of a partition key, or null when it is none of the three forms.</summary>
    public static VariableScope? FromKey(string? key)
    {
        if (key == System.Key)
        {
            return System;
        }

        if (key?.StartsWith("ns:", StringComparison.Ordinal) == true && key.Length > 3)
        {
            return ForNamespace(key[3..]);
        }

        return key?.StartsWith("task:", StringComparison.Ordinal) == true
            && long.TryParse(key.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id >= 1
            ? ForTask(id)
            : null;
    }
}

/// <summary>
/// One stored variable. A plain one holds <see cref="Value"/>; a secret holds only <see cref="Ciphertext"/>
/// (see <see cref="SecretCipher"/>), bound to its scope and name.
/// </summary>
public sealed record VariableRecord
{
    /// <summary>The environment variable's name.</summary>
    public required string Name { get; init; }

    /// <summary><see cref="VariableTypes.Plain"/> or <see cref="VariableTypes.Secret"/>.</summary>
    public required string Type { get; init; }

    /// <summary>Where it applies.</summary>
    public required VariableScope Scope { get; init; }

    /// <summary>The value of a plain variable; null for a secret.</summary>
    public string? Value { get; init; }

    /// <summary>The encrypted value of a secret; null for a plain variable.</summary>
    public byte[]? Ciphertext { get; init; }

    /// <summary>When it was first set.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it was last set.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The key name that last set it.</summary>
    public required string UpdatedBy { get; init; }

    /// <summary>Whether it is a secret.</summary>
    public bool IsSecret => Type == VariableTypes.Secret;
}

/// <summary>What a variable may be called and hold.</summary>
public static partial class VariableRules
{
    /// <summary>Longest name.</summary>
    public const int MaxNameLength = 128;

    /// <summary>Largest value, in UTF-8 bytes.</summary>
    public const int MaxValueBytes = 32 * 1024;

    /// <summary>Names the runner sets for every process; a variable may not replace them.</summary>
    public static readonly IReadOnlySet<string> Reserved = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "PATH", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "HOME",
    };

    /// <summary>Null when <paramref name="name"/> may be used, else why not.</summary>
    public static string? NameProblem(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || !NamePattern().IsMatch(name))
        {
            return $"name must be 1 to {MaxNameLength} letters, digits or '_', not starting with a digit (an environment variable name)";
        }

        return Reserved.Contains(name) || name.StartsWith("ENVFABRIC_", StringComparison.OrdinalIgnoreCase)
            ? $"name '{name}' is set by the runner for every process (PATH, VIRTUAL_ENV, CONDA_PREFIX, PYTHONHOME, HOME and ENVFABRIC_* are reserved)"
            : null;
    }

    /// <summary>Null when <paramref name="value"/> may be stored, else why not.</summary>
    public static string? ValueProblem(string? value)
    {
        if (value is null)
        {
            return "value is required (a string)";
        }

        if (value.Contains('\0', StringComparison.Ordinal))
        {
            return "value must not contain a NUL character";
        }

        return System.Text.Encoding.UTF8.GetByteCount(value) > MaxValueBytes ? $"value must be at most {MaxValueBytes} bytes (UTF-8)" : null;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
