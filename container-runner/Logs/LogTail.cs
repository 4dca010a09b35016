namespace EnvFabric.Runner.Logs;

/// <summary>
/// The newest output of a log that reached its cap: chunks in arrival order, at least <c>keep</c> bytes of them,
/// older ones dropped and counted.
/// </summary>
internal sealed class LogTail(int keep)
{
    private readonly Queue<byte[]> _chunks = new();

    /// <summary>Bytes held.</summary>
    public long Bytes { get; private set; }

    /// <summary>Bytes dropped so far (from the front).</summary>
    public long Dropped { get; private set; }

    public void Add(byte[] chunk)
    {
        if (chunk.Length == 0)
        {
            return;
        }

        _chunks.Enqueue(chunk);
        Bytes += chunk.Length;
        while (Bytes - _chunks.Peek().Length >= keep)
        {
            var dropped = _chunks.Dequeue();
            Bytes -= dropped.Length;
            Dropped += dropped.Length;
        }
    }

    /// <summary>
    /// Empties the tail, returning its newest bytes, at most <paramref name="room"/>, starting on a UTF-8 character
    /// boundary; the bytes left out count as dropped.
    /// </summary>
    public ArraySegment<byte> Take(long room)
    {
        var all = _chunks.SelectMany(chunk => chunk).ToArray();
        var start = all.Length - (int)Math.Clamp(room, 0, all.Length);
        while (start < all.Length && (all[start] & 0xC0) == 0x80)
        {
            start++;
        }

        Dropped += start;
        _chunks.Clear();
        Bytes = 0;
        return new ArraySegment<byte>(all, start, all.Length - start);
    }
}
