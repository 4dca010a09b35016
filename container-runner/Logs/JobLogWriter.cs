using System.Text;
using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using EnvFabric.Core.Runner;

namespace EnvFabric.Runner.Logs;

/// <summary>
/// Streams one job's output into its append blob: writes never block the process (they go to memory), a loop
/// appends what has accumulated at least every flush interval, and two caps keep memory and the blob bounded by
/// dropping the oldest output with a marker: the in-memory backlog (when storage is slower than the process) and
/// the blob's total size (after which only a rolling tail is kept, written at completion).
/// The blob never grows past <c>maxBytes</c>, notes and tail included: every byte is charged to
/// <c>_accounted</c> (in the blob, being appended, or pending) under the lock at the moment it is accepted,
/// so no interleaving of writes and flushes can overshoot.
/// </summary>
public sealed class JobLogWriter : IAsyncDisposable
{
    private const int MaxAppendBlock = 4 * 1024 * 1024;

    /// <summary>Room kept for the cap note and the completion line, written last.</summary>
    private const int NoteReserve = 1024;

    /// <summary>Room charged for a fell-behind note until its text (and length) is known at the next flush.</summary>
    private const int BacklogNoteReserve = 128;

    private readonly AppendBlobClient _blob;
    private readonly TimeSpan _flushInterval;
    private readonly long _maxBytes;
    private readonly int _backlogCap;
    private readonly long _bodyCap;
    private readonly int _tailCap;
    private readonly SecretMask _mask;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0);
    private MemoryStream _pending = new();
    private readonly LogTail _tail;
    private long _written;
    private long _accounted;
    private long _droppedBacklog;
    private bool _overflow;
    private Task? _loop;
    private Task _created = Task.CompletedTask;

    public JobLogWriter(AppendBlobClient blob, TimeSpan flushInterval, long maxBytes, int backlogCap, int tailKeep, IEnumerable<string> secrets, ILogger logger)
    {
        _blob = blob;
        _flushInterval = flushInterval;
        _maxBytes = maxBytes;
        _backlogCap = backlogCap;
        // The tail never takes more than half the cap; the output before the cap fills the rest but the notes' room.
        _tailCap = (int)Math.Min(tailKeep, maxBytes / 2);
        _bodyCap = maxBytes - _tailCap - NoteReserve;
        _tail = new LogTail(_tailCap);
        _mask = new SecretMask(secrets);
        _logger = logger;
    }

    /// <summary>Bytes appended to the blob so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>
    /// Starts creating the blob (keeping an earlier attempt's output, with a note) and the flush loop, without
    /// waiting: the process starts meanwhile, and the first append waits for the creation.
    /// </summary>
    public void Start(CancellationToken cancellationToken)
    {
        _created = CreateAsync(cancellationToken);
        _loop = Task.Run(FlushLoopAsync, CancellationToken.None);
    }

    private async Task CreateAsync(CancellationToken cancellationToken)
    {
        var created = await _blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        if (created is null)
        {
            var properties = await _blob.GetPropertiesAsync(cancellationToken: cancellationToken);
            var existing = properties.Value.ContentLength;
            Interlocked.Exchange(ref _written, existing);
            lock (_gate)
            {
                var note = Encoding.UTF8.GetBytes("[envfabric] the job was delivered again; output of the new attempt follows\n");
                var early = _pending.ToArray();
                _pending = new MemoryStream();
                _pending.Write(note);
                _accounted += existing + note.Length;
                if (_accounted > _bodyCap)
                {
                    // The earlier attempt used the room already: what this attempt wrote so far starts the tail.
                    _accounted -= early.Length;
                    _overflow = true;
                    _tail.Add(early);
                }
                else
                {
                    _pending.Write(early);
                }
            }
        }
    }

    /// <summary>Output bytes, in arrival order across stdout and stderr.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        var wake = false;
        lock (_gate)
        {
            if (!_overflow && _accounted + data.Length > _bodyCap)
            {
                _overflow = true;
            }

            if (_overflow)
            {
                _tail.Add(data.ToArray());
                return;
            }

            _pending.Write(data);
            _accounted += data.Length;
            if (_pending.Length > _backlogCap)
            {
                // Storage is behind: drop the oldest half of the backlog rather than block the process's pipe.
                var buffer = _pending.GetBuffer();
                var keep = (int)_pending.Length / 2;
                var drop = (int)_pending.Length - keep;
                var next = new MemoryStream();
                next.Write(buffer, drop, keep);
                _pending = next;
                _accounted -= drop;
                if (_droppedBacklog == 0)
                {
                    _accounted += BacklogNoteReserve;
                }

                _droppedBacklog += drop;
            }

            wake = _pending.Length >= MaxAppendBlock;
        }

        if (wake)
        {
            _wake.Release();
        }
    }

    /// <summary>A runner note, one line.</summary>
    public void WriteLine(string text) => Write(Encoding.UTF8.GetBytes(text + "\n"));

    /// <summary>Flushes everything, the dropped-output notes and the rolling tail, then the completion line.</summary>
    public async Task CompleteAsync(string completionLine, CancellationToken cancellationToken)
    {
        await StopLoopAsync();

        // An earlier attempt's size must be known (and charged) before the final notes are measured.
        await _created.WaitAsync(cancellationToken);
        lock (_gate)
        {
            var completion = Encoding.UTF8.GetBytes(completionLine);
            if (_overflow)
            {
                // The tail gets what the cap leaves after the note (sized for the largest numbers) and the completion line.
                var room = _maxBytes - _accounted - CapNote(long.MaxValue, long.MaxValue).Length - completion.Length;
                var tail = _tail.Take(Math.Min(room, _tailCap));
                var note = CapNote(_tail.Dropped, tail.Count);
                _pending.Write(note);
                _pending.Write(tail);
                _accounted += note.Length + tail.Count;
            }

            _pending.Write(completion);
            _accounted += completion.Length;
        }

        await FlushAsync(final: true, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await StopLoopAsync();
        _stop.Dispose();
        _wake.Dispose();
    }

    private byte[] CapNote(long dropped, long kept) =>
        Encoding.UTF8.GetBytes($"\n[envfabric] {dropped} bytes of output dropped: the log reached its cap of {_maxBytes} bytes; the last {kept} bytes follow\n");

    private async Task StopLoopAsync()
    {
        if (_loop is null)
        {
            return;
        }

        await _stop.CancelAsync();
        await _loop;
        _loop = null;
    }

    private async Task FlushLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(_flushInterval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await FlushAsync(final: false, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (RequestFailedException ex)
            {
                // The bytes went back to the backlog; the next tick retries.
                _logger.LogAppendFailed(ex, _blob.Name);
            }
        }
    }

    private async Task FlushAsync(bool final, CancellationToken cancellationToken)
    {
        await _created.WaitAsync(cancellationToken);
        byte[] data;
        lock (_gate)
        {
            if (_pending.Length == 0 && _droppedBacklog == 0)
            {
                return;
            }

            var head = _droppedBacklog > 0 ? Encoding.UTF8.GetBytes($"\n[envfabric] {_droppedBacklog} bytes of output dropped: the log writer fell behind\n") : [];
            if (_droppedBacklog > 0)
            {
                _accounted += head.Length - BacklogNoteReserve;
            }

            _droppedBacklog = 0;
            var body = _pending.ToArray();
            _pending = new MemoryStream();
            if (_mask.Active && !final)
            {
                // Keep a trailing partial UTF-8 character for the next flush, so masking never splits one.
                var usable = RunnerLogs.CompleteUtf8Length(body);
                if (usable < body.Length)
                {
                    _pending.Write(body, usable, body.Length - usable);
                    body = body[..usable];
                }
            }

            // Masking only shortens ("***" for secrets of three characters or more).
            var masked = _mask.Apply(body);
            _accounted -= body.Length - masked.Length;
            data = [.. head, .. masked];
        }

        var offset = 0;
        try
        {
            while (offset < data.Length)
            {
                var count = Math.Min(MaxAppendBlock, data.Length - offset);
                var position = Interlocked.Read(ref _written);
                using var stream = new MemoryStream(data, offset, count, writable: false);
                try
                {
                    // Only at the position this writer expects: an append whose answer was lost (cancelled at the
                    // loop's stop, or timed out, after the service stored it) has its bytes put back below and sent
                    // again, and is then found in the blob instead of being stored twice.
                    await _blob.AppendBlockAsync(
                        stream, new AppendBlobAppendBlockOptions { Conditions = new AppendBlobRequestConditions { IfAppendPositionEqual = position } }, cancellationToken);
                }
                catch (RequestFailedException ex) when (ex.ErrorCode == BlobErrorCode.AppendPositionConditionNotMet)
                {
                    var length = (await _blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value.ContentLength;
                    var stored = length - position;
                    if (stored <= 0 || stored > count)
                    {
                        // Not an earlier try of these bytes (an append block is stored whole or not at all): someone
                        // else appended. Go on after what is there; the bytes go back and the next flush sends them.
                        Interlocked.Exchange(ref _written, length);
                        throw;
                    }

                    // The first `stored` bytes are the earlier try's block, already in the blob.
                    count = (int)stored;
                }

                offset += count;
                Interlocked.Add(ref _written, count);
            }
        }
        catch
        {
            lock (_gate)
            {
                var rest = new MemoryStream();
                rest.Write(data, offset, data.Length - offset);
                _pending.WriteTo(rest);
                _pending = rest;
            }

            throw;
        }
    }
}
