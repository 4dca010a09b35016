using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace EnvFabric.Core.Runner;

/// <summary>
/// Job logs: append blobs in <see cref="RunnerStorage.LogsContainer"/> holding stdout and stderr in arrival order,
/// runner notes prefixed <c>[envfabric]</c>, and a last line starting with <see cref="CompletionMarker"/> once the
/// log is whole. Read them by offset with <see cref="ReadAsync"/>.
/// </summary>
public static class RunnerLogs
{
    /// <summary>Starts the final line of every complete log.</summary>
    public const string CompletionMarker = "##[envfabric:end]";

    /// <summary>The completion line written after the job's last output.</summary>
    public static string CompletionLine(JobResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var exit = result.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none";
        var status = RunnerJson.Serialize(result.Status).Trim('"');
        return $"\n{CompletionMarker} job={result.JobId} status={status} exit_code={exit}\n";
    }

    /// <summary>True when <paramref name="text"/> (a whole log or its end) holds the completion line.</summary>
    public static bool IsComplete(string text) => text is not null && text.Contains(CompletionMarker, StringComparison.Ordinal);

    /// <summary>
    /// Reads a log from <paramref name="offset"/>: the new bytes as UTF-8 text (a trailing partial character is
    /// left for the next read), the offset to continue from, and whether the log is complete. A missing blob
    /// reads as empty.
    /// </summary>
    public static async Task<LogChunk> ReadAsync(BlobContainerClient container, string blobName, long offset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(container);
        var blob = container.GetBlobClient(blobName);
        try
        {
            var response = await blob.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(offset) }, cancellationToken);
            var bytes = response.Value.Content.ToArray();
            var usable = CompleteUtf8Length(bytes);
            var text = System.Text.Encoding.UTF8.GetString(bytes, 0, usable);
            return new LogChunk(text, offset + usable, IsComplete(text));
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 416)
        {
            return new LogChunk("", offset, false);
        }
    }

    /// <summary>Length of the prefix of <paramref name="bytes"/> that ends on a UTF-8 character boundary.</summary>
    public static int CompleteUtf8Length(ReadOnlySpan<byte> bytes)
    {
        for (var back = 1; back <= Math.Min(3, bytes.Length); back++)
        {
            var b = bytes[^back];
            if ((b & 0xC0) == 0x80)
            {
                continue;
            }

            if (b < 0x80)
            {
                return bytes.Length;
            }

            var needed = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
            return back >= needed ? bytes.Length : bytes.Length - back;
        }

        return bytes.Length;
    }
}

/// <summary>A piece of a log read by offset.</summary>
public sealed record LogChunk(string Text, long NextOffset, bool Complete);
