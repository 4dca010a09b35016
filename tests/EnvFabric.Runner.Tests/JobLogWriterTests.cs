using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using EnvFabric.Runner.Logs;
using EnvFabric.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace EnvFabric.Runner.Tests;

/// <summary>The log cap as an invariant: real append blobs on Azurite, flooded by several writers at once.</summary>
[Collection(RunnerCollection.Name)]
public sealed class JobLogWriterTests(RunnerFixture fixture)
{
    private const long Cap = 64 * 1024;
    private const int Tail = 4096;
    private const string Completion = "##[envfabric:end] status=succeeded exit=0\n";

    [Theory]
    [InlineData(8, 1, false)]
    [InlineData(8, 1, true)]
    [InlineData(4, 10, false)]
    [InlineData(16, 1, true)]
    public async Task Write_FloodFromSeveralWriters_BlobNeverExceedsTheCap(int writers, int flushMs, bool secrets)
    {
        var blob = await NewBlobAsync();
        string[] masked = secrets ? ["line-secret-value"] : [];
        await using var log = new JobLogWriter(blob, TimeSpan.FromMilliseconds(flushMs), Cap, 64 * 1024, Tail, masked, NullLogger.Instance);
        log.Start(CancellationToken.None);

        // Each writer writes ~40 times the cap in chunks of 1-3 KB, yielding between chunks so the cap is crossed
        // while appends of earlier chunks are in flight.
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 1200; i++)
            {
                log.Write(Chunk(w, i, secrets));
                if (i % 8 == 0)
                {
                    await Task.Yield();
                }
            }
        })));
        await log.CompleteAsync(Completion, CancellationToken.None);

        var size = (await blob.GetPropertiesAsync()).Value.ContentLength;
        var text = (await blob.DownloadContentAsync()).Value.Content.ToString();
        Assert.InRange(size, Cap / 2, Cap);
        Assert.Equal(size, log.Written);
        Assert.Contains($"bytes of output dropped: the log reached its cap of {Cap} bytes; the last ", text, StringComparison.Ordinal);
        Assert.EndsWith(Completion, text, StringComparison.Ordinal);
        Assert.DoesNotContain("line-secret-value", text, StringComparison.Ordinal);
        var tail = text[(text.LastIndexOf("bytes follow\n", StringComparison.Ordinal) + "bytes follow\n".Length)..^Completion.Length];
        // The tail is the last RUNNER_LOG_TAIL_BYTES (masking shortens it).
        Assert.InRange(Encoding.UTF8.GetByteCount(tail), secrets ? Tail / 2 : Tail - 3, Tail);
    }

    [Fact]
    public async Task Write_DeliveredAgainOnAFullLog_StaysWithinTheCap()
    {
        var blob = await NewBlobAsync();
        await using (var first = new JobLogWriter(blob, TimeSpan.FromMilliseconds(1), Cap, 64 * 1024, Tail, [], NullLogger.Instance))
        {
            // An attempt that died after filling its room: no completion, no tail.
            first.Start(CancellationToken.None);
            for (var i = 0; i < 400; i++)
            {
                first.Write(Chunk(0, i, false));
            }

            await WaitUntilAsync(async () => (await blob.GetPropertiesAsync()).Value.ContentLength >= Cap / 2);
        }

        await using var again = new JobLogWriter(blob, TimeSpan.FromMilliseconds(1), Cap, 64 * 1024, Tail, [], NullLogger.Instance);
        again.Start(CancellationToken.None);
        for (var i = 0; i < 400; i++)
        {
            again.Write(Chunk(1, i, false));
        }

        await again.CompleteAsync(Completion, CancellationToken.None);

        var text = (await blob.DownloadContentAsync()).Value.Content.ToString();
        Assert.InRange((await blob.GetPropertiesAsync()).Value.ContentLength, Cap / 2, Cap);
        Assert.Contains("the job was delivered again", text, StringComparison.Ordinal);
        Assert.EndsWith(Completion, text, StringComparison.Ordinal);
    }

    private static byte[] Chunk(int writer, int index, bool secret)
    {
        var line = $"writer {writer} chunk {index} {(secret ? "line-secret-value" : "plain")} ";
        var builder = new StringBuilder();
        while (builder.Length < 1024 + (index * 37 % 2048))
        {
            builder.Append(line);
        }

        return Encoding.UTF8.GetBytes(builder.Append('\n').ToString());
    }

    [Fact]
    public async Task Flush_AnAppendStoredButItsAnswerLost_IsNotStoredTwice()
    {
        // The first append reaches the blob, then its caller sees a failure (as a cancelled or timed-out request
        // whose block the service stored): the writer sends the bytes again and must find them there.
        var real = await NewBlobAsync();
        var blob = new AnswerLostOnce(real);
        await using var log = new JobLogWriter(blob, TimeSpan.FromMilliseconds(5), Cap, 64 * 1024, Tail, [], NullLogger.Instance);
        log.Start(CancellationToken.None);
        log.WriteLine("first line");
        await WaitUntilAsync(async () => blob.Lost);
        log.WriteLine("second line");
        await log.CompleteAsync(Completion, CancellationToken.None);

        var text = (await real.DownloadContentAsync()).Value.Content.ToString();
        Assert.Equal("first line\nsecond line\n" + Completion, text);
        Assert.Equal(Encoding.UTF8.GetByteCount(text), log.Written);
    }

    /// <summary>An append blob whose first append is stored and then reported failed.</summary>
    private sealed class AnswerLostOnce(AppendBlobClient inner) : AppendBlobClient(inner.Uri, new Azure.Storage.StorageSharedKeyCredential(AzuriteFixture.AccountName, AzuriteFixture.AccountKey))
    {
        private int _appends;

        public bool Lost => Volatile.Read(ref _appends) > 0;

        public override Task<Azure.Response<Azure.Storage.Blobs.Models.BlobContentInfo>> CreateIfNotExistsAsync(
            Azure.Storage.Blobs.Models.AppendBlobCreateOptions options, CancellationToken cancellationToken = default) => inner.CreateIfNotExistsAsync(options, cancellationToken);

        public override Task<Azure.Response<Azure.Storage.Blobs.Models.BlobProperties>> GetPropertiesAsync(
            Azure.Storage.Blobs.Models.BlobRequestConditions? conditions = null, CancellationToken cancellationToken = default) => inner.GetPropertiesAsync(conditions, cancellationToken);

        public override async Task<Azure.Response<Azure.Storage.Blobs.Models.BlobAppendInfo>> AppendBlockAsync(
            Stream content, Azure.Storage.Blobs.Models.AppendBlobAppendBlockOptions? options = null, CancellationToken cancellationToken = default)
        {
            var response = await inner.AppendBlockAsync(content, options, cancellationToken);
            return Interlocked.Increment(ref _appends) == 1 ? throw new Azure.RequestFailedException(500, "the answer was lost") : response;
        }
    }

    private async Task<AppendBlobClient> NewBlobAsync()
    {
        var container = new BlobContainerClient(fixture.Azurite.ConnectionString, AzuriteFixture.UniqueName("logcap"));
        await container.CreateIfNotExistsAsync();
        return container.GetAppendBlobClient("job.log");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within a minute");
            await Task.Delay(20);
        }
    }
}
