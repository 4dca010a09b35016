using System.Text;
using Azure;
using Azure.Storage.Blobs.Specialized;
using EnvFabric.Core.Runner;

namespace EnvFabric.Runner.Logs;

/// <summary>
/// Streams one job's output into its append blob: writes never block the process (they go to memory), a loop
/// appends what has accumulated at least every flush interval, and two caps keep memory and the blob bounded by
/// dropping the oldest output with a marker: the in-memory backlog (when storage is slower than the process) and
/// the blob's total size (after which only a rolling tail is kept, written at completion).
/// </summary>
public sealed class JobLogWriter : IAsyncDisposable
{
    private const int MaxAppendBlock = 4 * 1024 * 1024;
    private readonly AppendBlobClient _blob;
    private readonly TimeSpan _flushInterval;
    private readonly long _maxBytes;
    private readonly int _backlogCap;
    private readonly int _tailKeep;
    private readonly string[] _secrets;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0);
    private MemoryStream _pending = new();
    private readonly Queue<byte[]> _tail = new();
    private long _tailBytes;
    private long _written;
    private long _droppedBacklog;
    private long _droppedTail;
    private bool _overflow;
    private Task? _loop;
    private Task _created = Task.CompletedTask;

    public JobLogWriter(AppendBlobClient blob, TimeSpan flushInterval, long maxBytes, int backlogCap, int tailKeep, IEnumerable<string> secrets, ILogger logger)
    {
        _blob = blob;
        _flushInterval = flushInterval;
        _maxBytes = maxBytes;
        _backlogCap = backlogCap;
        _tailKeep = tailKeep;
        _secrets = secrets.Where(s => s.Length >= 3).Distinct().OrderByDescending(s => s.Length).ToArray();
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
            Interlocked.Exchange(ref _written, properties.Value.ContentLength);
            lock (_gate)
            {
                var note = Encoding.UTF8.GetBytes("[envfabric] the job was delivered again; output of the new attempt follows\n");
                var rest = new MemoryStream();
                rest.Write(note);
                _pending.WriteTo(rest);
                _pending = rest;
            }
        }
    }

    /// <summary>Output bytes, in arrival order across stdout and stderr.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        var wake = false;
        lock (_gate)
        {
            if (!_overflow && _written + _pending.Length + data.Length > SoftCap)
            {
                _overflow = true;
            }

            if (_overflow)
            {
                _tail.Enqueue(data.ToArray());
                _tailBytes += data.Length;
                while (_tailBytes - _tail.Peek().Length >= _tailKeep)
                {
                    var dropped = _tail.Dequeue();
                    _tailBytes -= dropped.Length;
                    _droppedTail += dropped.Length;
                }

                return;
            }

            _pending.Write(data);
            if (_pending.Length > _backlogCap)
            {
                // Storage is behind: drop the oldest half of the backlog rather than block the process's pipe.
                var buffer = _pending.GetBuffer();
                var keep = (int)_pending.Length / 2;
                var drop = (int)_pending.Length - keep;
                var next = new MemoryStream();
                next.Write(buffer, drop, keep);
                _pending = next;
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
        lock (_gate)
        {
            if (_overflow)
            {
                var note = Encoding.UTF8.GetBytes($"\n[envfabric] {_droppedTail} bytes of output dropped: the log reached its cap of {_maxBytes} bytes; the last {_tailBytes} bytes follow\n");
                _pending.Write(note);
                foreach (var chunk in _tail)
                {
                    _pending.Write(chunk);
                }

                _tail.Clear();
                _tailBytes = 0;
            }

            _pending.Write(Encoding.UTF8.GetBytes(completionLine));
        }

        await FlushAsync(final: true, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await StopLoopAsync();
        _stop.Dispose();
        _wake.Dispose();
    }

    private long SoftCap => Math.Max(_maxBytes / 2, _maxBytes - _tailKeep - 4096);

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
            _droppedBacklog = 0;
            var body = _pending.ToArray();
            _pending = new MemoryStream();
            if (_secrets.Length > 0 && !final)
            {
                // Keep a trailing partial UTF-8 character for the next flush, so masking never splits one.
                var usable = RunnerLogs.CompleteUtf8Length(body);
                if (usable < body.Length)
                {
                    _pending.Write(body, usable, body.Length - usable);
                    body = body[..usable];
                }
            }

            data = [.. head, .. Mask(body)];
        }

        var offset = 0;
        try
        {
            while (offset < data.Length)
            {
                var count = Math.Min(MaxAppendBlock, data.Length - offset);
                using var stream = new MemoryStream(data, offset, count, writable: false);
                await _blob.AppendBlockAsync(stream, cancellationToken: cancellationToken);
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

    private byte[] Mask(byte[] body)
    {
        if (_secrets.Length == 0 || body.Length == 0)
        {
            return body;
        }

        var text = Encoding.UTF8.GetString(body);
        var masked = text;
        foreach (var secret in _secrets)
        {
            masked = masked.Replace(secret, "***", StringComparison.Ordinal);
        }

        return ReferenceEquals(masked, text) || masked == text ? body : Encoding.UTF8.GetBytes(masked);
    }
}
