using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Core.Pools;

/// <summary>The outcome of reading <c>pools.json</c>: the configuration and the file's SHA-256, or every problem found.</summary>
/// <param name="Configuration">The validated configuration (implicit queues added), or null when <paramref name="Problems"/> is not empty.</param>
/// <param name="Problems">Each problem, one line naming the entry and the field.</param>
/// <param name="Generation">Lower-case hex SHA-256 of the file's bytes; empty for the built-in default (no file).</param>
public sealed record PoolFileLoad(PoolConfiguration? Configuration, IReadOnlyList<string> Problems, string Generation)
{
    /// <summary>True when the file could be used.</summary>
    public bool Ok => Configuration is not null;
}

/// <summary>
/// Reads and validates <c>pools.json</c>: snake_case JSON matching <see cref="PoolConfiguration"/>, unknown
/// properties refused, comments and trailing commas allowed, at most <see cref="MaxBytes"/>. Every problem is
/// collected, so one edit can fix them all.
/// </summary>
public static class PoolFile
{
    /// <summary>The file's name under DATA_ROOT.</summary>
    public const string FileName = "pools.json";

    /// <summary>The largest file read (1 MiB).</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>Capacity limits of a pool.</summary>
    public const int MaxCapacity = 10_000;

    /// <summary>GPU limit of a pool.</summary>
    public const int MaxGpus = 64;

    /// <summary>Weight limit of a queue.</summary>
    public const int MaxWeight = 1000;

    /// <summary>The longest SLA wait (7 days).</summary>
    public const int MaxWaitSeconds = 604_800;

    /// <summary>The largest SLA promotion.</summary>
    public const int MaxPromoteBy = 1000;

    /// <summary>Length limit of SLA and policy names.</summary>
    public const int MaxRuleNameLength = 64;

    /// <summary>The serializer options of the file (and of <c>/v2/slas</c>, <c>/v2/policys</c>).</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Reads <paramref name="path"/>; no file is <see cref="PoolConfiguration.Default"/> of <paramref name="defaultCapacity"/>.</summary>
    public static PoolFileLoad Load(string path, int defaultCapacity, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return new PoolFileLoad(PoolConfiguration.Default(defaultCapacity) with { LoadedAt = now }, [], "");
            }

            if (info.Length > MaxBytes)
            {
                return Refused($"the file is {info.Length} bytes, more than the limit of {MaxBytes} (1 MiB)");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Refused("the file cannot be read: " + ex.Message);
        }

        return Parse(bytes, path, now);
    }

    /// <summary>Parses and validates the bytes of a pools file read from <paramref name="source"/>.</summary>
    public static PoolFileLoad Parse(ReadOnlySpan<byte> bytes, string? source, DateTimeOffset now)
    {
        if (bytes.Length > MaxBytes)
        {
            return Refused($"the file is {bytes.Length} bytes, more than the limit of {MaxBytes} (1 MiB)");
        }

        var generation = Convert.ToHexStringLower(SHA256.HashData(bytes));
        PoolConfiguration? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<PoolConfiguration>(bytes, Json);
        }
        catch (JsonException ex)
        {
            return Refused(Describe(ex), generation);
        }

        if (parsed is null)
        {
            return Refused("the file holds null, not an object with pools", generation);
        }

        var (configuration, problems) = Validate(parsed);
        return problems.Count > 0
            ? new PoolFileLoad(null, problems, generation)
            : new PoolFileLoad(configuration! with { Source = source, LoadedAt = now }, [], generation);
    }

    /// <summary>Checks <paramref name="configuration"/> and adds the implicit queues; every problem is returned.</summary>
    public static (PoolConfiguration? Configuration, IReadOnlyList<string> Problems) Validate(PoolConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        var pools = configuration.Pools ?? [];
        var queues = (configuration.Queues ?? []).ToList();
        var slas = configuration.Slas ?? [];
        var policies = configuration.Policies ?? [];
        var poolNames = new HashSet<string>(StringComparer.Ordinal);

        for (var i = 0; i < pools.Count; i++)
        {
            var p = pools[i];
            var at = Entry("pools", i, p?.Name);
            if (p is null)
            {
                problems.Add($"{at}: null is not a pool");
                continue;
            }

            if (!PoolNames.IsValid(p.Name))
            {
                problems.Add($"{at}: name '{p.Name}' is not valid (1 to 32 lower-case letters, digits or '-', starting with a letter or digit)");
            }
            else if (!poolNames.Add(p.Name))
            {
                problems.Add($"{at}: name '{p.Name}' is used by an earlier pool");
            }

            Range(problems, at, "capacity", p.Capacity, 1, MaxCapacity);
            Range(problems, at, "gpus", p.Gpus, 0, MaxGpus);
        }

        if (!poolNames.Contains(PoolNames.Default))
        {
            problems.Add($"pools: no pool is named '{PoolNames.Default}' (runners without RUNNER_POOL and tasks without a pool go there)");
        }

        var queueNames = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < queues.Count; i++)
        {
            var q = queues[i];
            var at = Entry("queues", i, q?.Name);
            if (q is null)
            {
                problems.Add($"{at}: null is not a queue");
                continue;
            }

            if (!PoolNames.IsValid(q.Name))
            {
                problems.Add($"{at}: name '{q.Name}' is not valid (1 to 32 lower-case letters, digits or '-', starting with a letter or digit)");
            }
            else if (!queueNames.TryAdd(q.Name, q.Pool))
            {
                problems.Add($"{at}: name '{q.Name}' is used by an earlier queue");
            }

            KnownPool(problems, at, q.Pool, poolNames, required: true);
            Band(problems, at, q.MinPriority, q.MaxPriority);
            Range(problems, at, "weight", q.Weight, 1, MaxWeight);
        }

        // Two queues of one pool with overlapping bands: the first listed would take every run of the overlap.
        for (var i = 0; i < queues.Count; i++)
        {
            for (var j = i + 1; j < queues.Count; j++)
            {
                var (a, b) = (queues[i], queues[j]);
                if (a is not null && b is not null && a.Pool == b.Pool && a.MinPriority <= a.MaxPriority && b.MinPriority <= b.MaxPriority
                    && Math.Max(a.MinPriority, b.MinPriority) <= Math.Min(a.MaxPriority, b.MaxPriority))
                {
                    problems.Add($"{Entry("queues", j, b.Name)}: its priority band {b.MinPriority}..{b.MaxPriority} overlaps the band {a.MinPriority}..{a.MaxPriority} of queue '{a.Name}' of the same pool '{a.Pool}' (the first would hide the second)");
                }
            }
        }

        var implicitQueues = new List<QueueDefinition>();
        foreach (var pool in pools.Where(p => p is not null && PoolNames.IsValid(p.Name)).Select(p => p.Name).Distinct(StringComparer.Ordinal))
        {
            if (queues.Any(q => q?.Pool == pool))
            {
                continue;
            }

            if (queueNames.TryGetValue(pool, out var owner))
            {
                problems.Add($"pools '{pool}': the pool has no queue, and its implicit queue '{pool}' clashes with the queue '{pool}' of pool '{owner}'");
                continue;
            }

            implicitQueues.Add(new QueueDefinition { Name = pool, Pool = pool });
        }

        var slaNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < slas.Count; i++)
        {
            var s = slas[i];
            var at = Entry("slas", i, s?.Name);
            if (s is null)
            {
                problems.Add($"{at}: null is not an SLA rule");
                continue;
            }

            RuleName(problems, at, s.Name, slaNames, "SLA rule");
            KnownPool(problems, at, s.Pool, poolNames, required: false);
            Band(problems, at, s.MinPriority, s.MaxPriority);
            Range(problems, at, "max_wait_seconds", s.MaxWaitSeconds, 1, MaxWaitSeconds);
            if (s.Action is not (SlaActions.Promote or SlaActions.Alert))
            {
                problems.Add($"{at}: action '{s.Action}' is not known (use {SlaActions.Promote} or {SlaActions.Alert})");
            }

            Range(problems, at, "promote_by", s.PromoteBy, 1, MaxPromoteBy);
        }

        var policyNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < policies.Count; i++)
        {
            var p = policies[i];
            var at = Entry("policies", i, p?.Name);
            if (p is null)
            {
                problems.Add($"{at}: null is not a policy");
                continue;
            }

            RuleName(problems, at, p.Name, policyNames, "policy");
            KnownPool(problems, at, p.Pool, poolNames, required: true);
            foreach (var ns in p.Namespaces ?? [])
            {
                if (!IsNamespace(ns))
                {
                    problems.Add($"{at}: namespace '{ns}' is not valid (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)");
                }
            }

            foreach (var (key, value) in p.Tags ?? new Dictionary<string, string>())
            {
                if (string.IsNullOrWhiteSpace(key) || value is null)
                {
                    problems.Add($"{at}: tag '{key}' needs a non-empty key and a value");
                }
            }
        }

        if (problems.Count > 0)
        {
            return (null, problems);
        }

        return (configuration with
        {
            Pools = [.. pools],
            Queues = [.. queues, .. implicitQueues],
            Slas = [.. slas],
            Policies = [.. policies.Select(p => p with { Namespaces = p.Namespaces ?? [], Tags = p.Tags ?? new Dictionary<string, string>(StringComparer.Ordinal) })],
        }, problems);
    }

    /// <summary>A namespace name as keys and tasks use it: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.</summary>
    public static bool IsNamespace(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 64 && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static PoolFileLoad Refused(string problem, string generation = "") => new(null, [problem], generation);

    private static string Entry(string kind, int index, string? name) =>
        string.IsNullOrEmpty(name) ? $"{kind}[{index}]" : $"{kind}[{index}] '{name}'";

    private static void Range(List<string> problems, string at, string field, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            problems.Add($"{at}: {field} {value} is out of range (use {min} to {max})");
        }
    }

    private static void Band(List<string> problems, string at, int min, int max)
    {
        if (min > max)
        {
            problems.Add($"{at}: min_priority {min} is above max_priority {max}");
        }
    }

    private static void KnownPool(List<string> problems, string at, string? pool, HashSet<string> pools, bool required)
    {
        if (pool is null)
        {
            if (required)
            {
                problems.Add($"{at}: pool is required");
            }
        }
        else if (!pools.Contains(pool))
        {
            problems.Add($"{at}: pool '{pool}' is not defined in pools");
        }
    }

    private static void RuleName(List<string> problems, string at, string? name, HashSet<string> seen, string what)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > MaxRuleNameLength)
        {
            problems.Add($"{at}: name '{name}' is not valid (1 to {MaxRuleNameLength} characters)");
        }
        else if (!seen.Add(name))
        {
            problems.Add($"{at}: name '{name}' is used by an earlier {what}");
        }
    }

    /// <summary>The JSON error as one line: where (path, line) and what, without the type names of the model.</summary>
    private static string Describe(JsonException ex)
    {
        var message = ex.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0)
        {
            message = message[..cut];
        }

        message = message.Replace(" contained in type 'EnvFabric.Core.Pools.", " of '", StringComparison.Ordinal)
            .Replace("EnvFabric.Core.Pools.", "", StringComparison.Ordinal);
        var where = ex.Path is { Length: > 0 } path ? path : "$";
        var line = ex.LineNumber is { } n ? $" (line {n + 1})" : "";
        return $"{where}{line}: {message.ReplaceLineEndings(" ").TrimEnd('.')}";
    }
}
