using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EnvFabric.Core.Tasks;

namespace EnvFabric.Core.V2;

/// <summary>
/// Seed 002's <c>quotas</c>: a JSON object (or a string holding one) with <c>cpu</c> (cores as a number, or a
/// Kubernetes quantity such as <c>"500m"</c> or <c>"2"</c>), <c>memory</c> (a Kubernetes quantity: <c>"16Gi"</c>,
/// <c>"512Mi"</c>, <c>"1G"</c>, <c>"1000M"</c>; a plain number is bytes) and <c>gpu</c> (a whole number).
/// </summary>
public static class QuotaParser
{
    /// <summary>The most cores a quota may name.</summary>
    public const double MaxCpu = 1024;

    /// <summary>The most memory a quota may name, in MiB (64 TiB).</summary>
    public const long MaxMemoryMb = 64L * 1024 * 1024;

    /// <summary>The most GPUs a quota may name.</summary>
    public const int MaxGpu = 64;

    private static readonly (string Suffix, double Factor)[] MemoryUnits =
    [
        ("Ki", 1024d), ("Mi", 1024d * 1024), ("Gi", 1024d * 1024 * 1024), ("Ti", 1024d * 1024 * 1024 * 1024),
        ("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12),
    ];

    /// <summary>The quotas of <paramref name="element"/>; null quotas (and no problem) when absent, null or empty.</summary>
    public static (TaskQuotas? Quotas, string? Problem) Parse(JsonElement? element)
    {
        if (element is not { } e || e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return (null, null);
        }

        JsonNode? node;
        try
        {
            node = e.ValueKind == JsonValueKind.String
                ? (string.IsNullOrWhiteSpace(e.GetString()) ? null : JsonNode.Parse(e.GetString()!))
                : JsonNode.Parse(e.GetRawText());
        }
        catch (JsonException ex)
        {
            return (null, $"quotas is not valid JSON: {ex.Message}");
        }

        return node switch
        {
            null => (null, null),
            JsonObject o => Parse(o),
            _ => (null, "quotas must be a JSON object with cpu, memory and gpu"),
        };
    }

    /// <summary>The quotas of a JSON object.</summary>
    public static (TaskQuotas? Quotas, string? Problem) Parse(JsonObject quotas)
    {
        ArgumentNullException.ThrowIfNull(quotas);
        if (quotas.Select(p => p.Key).FirstOrDefault(k => k is not ("cpu" or "memory" or "gpu")) is { } unknown)
        {
            return (null, $"quotas.{unknown} is not known (cpu, memory, gpu)");
        }

        double? cpu = null;
        if (Scalar(quotas["cpu"]) is { } cpuText)
        {
            if (Cpu(cpuText) is not { } cores)
            {
                return (null, $"quotas.cpu '{cpuText}' is not a number of cores (such as 2, 0.5 or \"500m\") between 0.001 and {MaxCpu}");
            }

            cpu = cores;
        }

        long? memory = null;
        if (Scalar(quotas["memory"]) is { } memoryText)
        {
            if (MemoryMb(memoryText) is not { } mb)
            {
                return (null, $"quotas.memory '{memoryText}' is not a memory quantity (such as \"16Gi\", \"512Mi\", \"1G\" or a number of bytes) between 1 MiB and {MaxMemoryMb / 1024 / 1024} TiB");
            }

            memory = mb;
        }

        int? gpu = null;
        if (Scalar(quotas["gpu"]) is { } gpuText)
        {
            if (!int.TryParse(gpuText, NumberStyles.None, CultureInfo.InvariantCulture, out var gpus) || gpus > MaxGpu)
            {
                return (null, $"quotas.gpu '{gpuText}' is not a whole number of GPUs between 0 and {MaxGpu}");
            }

            gpu = gpus;
        }

        return cpu is null && memory is null && gpu is null ? (null, null) : (new TaskQuotas { Cpu = cpu, MemoryMb = memory, Gpu = gpu }, null);
    }

    /// <summary>Cores of a CPU quantity (<c>"2"</c>, <c>"1.5"</c>, <c>"500m"</c>), or null when it is not one or out of range.</summary>
    public static double? Cpu(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var milli = text.EndsWith('m');
        var number = milli ? text[..^1] : text;
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            return null;
        }

        var cores = milli ? value / 1000 : value;
        return cores is >= 0.001 and <= MaxCpu ? cores : null;
    }

    /// <summary>MiB (rounded up) of a memory quantity, or null when it is not one or out of range.</summary>
    public static long? MemoryMb(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var factor = 1d;
        var number = text;
        foreach (var (suffix, f) in MemoryUnits)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                factor = f;
                number = text[..^suffix.Length];
                break;
            }
        }

        if (number.Length == 0 || !double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            return null;
        }

        var mb = Math.Ceiling(value * factor / (1024d * 1024));
        return mb is >= 1 and <= MaxMemoryMb ? (long)mb : null;
    }

    /// <summary>The text of a number or string value; null when absent or JSON null.</summary>
    private static string? Scalar(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>().Trim(),
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString(),
        _ => node.ToJsonString(),
    };

    /// <summary>The quotas as seed 002 shows them (<c>{"cpu":2,"memory":"16384Mi","gpu":1}</c>), or null when none.</summary>
    public static string? Format(TaskQuotas? quotas)
    {
        if (quotas is null)
        {
            return null;
        }

        var o = new JsonObject();
        if (quotas.Cpu is { } cpu)
        {
            o["cpu"] = cpu;
        }

        if (quotas.MemoryMb is { } mb)
        {
            o["memory"] = mb.ToString(CultureInfo.InvariantCulture) + "Mi";
        }

        if (quotas.Gpu is { } gpu)
        {
            o["gpu"] = gpu;
        }

        return o.ToJsonString();
    }
}
