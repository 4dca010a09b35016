using System.Text.Json;
using System.Text.Json.Serialization;

namespace EnvFabric.Core.Runner;

/// <summary>The one JSON shape of the runner contract: snake_case properties, string enums, <c>kind</c> first or not.</summary>
public static class RunnerJson
{
    /// <summary>Options for every runner message, event payload and result.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>Serializes a job with its <c>kind</c>.</summary>
    public static string Serialize(RunnerJob job) => JsonSerializer.Serialize(job, Options);

    /// <summary>Serializes any contract value.</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>Deserializes any contract value.</summary>
    public static T? Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options);

    /// <summary>
    /// Reads a job message. Returns false with a reason for malformed JSON, an unknown <c>kind</c>, a missing
    /// required field, or a <c>version</c> newer than <see cref="RunnerJob.CurrentVersion"/>.
    /// </summary>
    public static bool TryDeserializeJob(string json, out RunnerJob? job, out string? error)
    {
        job = null;
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = "a job message must be a JSON object";
                return false;
            }

            if (document.RootElement.TryGetProperty("version", out var version) && (version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var v) || v < 1 || v > RunnerJob.CurrentVersion))
            {
                error = $"unsupported job contract version {version.GetRawText()} (this runner reads 1..{RunnerJob.CurrentVersion})";
                return false;
            }

            job = document.RootElement.Deserialize<RunnerJob>(Options);
            if (job is null)
            {
                error = "empty job message";
                return false;
            }

            if (!IsValidJobId(job.JobId))
            {
                error = "job_id must be 1-200 characters without / \\ # ? or control characters";
                job = null;
                return false;
            }

            error = null;
            return true;
        }
        catch (JsonException ex)
        {
            error = "invalid job message: " + ex.Message;
            return false;
        }
        catch (NotSupportedException ex)
        {
            error = "invalid job message: " + ex.Message;
            return false;
        }
    }

    /// <summary>A job id usable as a table key and a blob name part: 1-200 characters, none of <c>/ \ # ?</c> or control characters.</summary>
    public static bool IsValidJobId(string? jobId) =>
        !string.IsNullOrWhiteSpace(jobId) && jobId.Length <= 200 && jobId.IndexOfAny(['/', '\\', '#', '?']) < 0 && !jobId.Any(char.IsControl);

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            AllowOutOfOrderMetadataProperties = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            RespectRequiredConstructorParameters = true,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
