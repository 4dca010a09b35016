using System.Text.Json;
using EnvFabric.Core.Runner;

namespace EnvFabric.Orchestrations;

/// <summary>Reading the runner's event payloads inside orchestrations (as raw JSON: any sender's casing).</summary>
public static class RunnerEventPayloads
{
    /// <summary>The result carried by a <see cref="RunnerEvents.Completed"/> payload, or null when unreadable.</summary>
    public static JobResult? ResultOf(JsonElement payload)
    {
        try
        {
            return payload.Deserialize<JobCompletedEvent>(JsonSerializerOptions.Web)?.Result;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The job id of any runner event payload.</summary>
    public static string? JobIdOf(JsonElement payload)
    {
        if (payload.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var property in payload.EnumerateObject())
        {
            if (property.NameEquals("jobId") || property.NameEquals("job_id") || property.NameEquals("JobId"))
            {
                return property.Value.GetString();
            }
        }

        return null;
    }
}
