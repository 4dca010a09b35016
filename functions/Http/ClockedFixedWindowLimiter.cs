using System.Threading.RateLimiting;

namespace EnvFabric.Functions.Http;

/// <summary>
/// A fixed window of <c>permitLimit</c> requests per <c>window</c> that reads time from a <see cref="TimeProvider"/>.
/// System.Threading.RateLimiting's own limiters replenish on a timer and the Stopwatch, which a test cannot drive;
/// this one rolls its window when a request arrives, so a fake clock makes a two-minute scenario take milliseconds.
/// No queue: a request over the limit is refused at once, with the time left in the window as Retry-After.
/// </summary>
public sealed class ClockedFixedWindowLimiter : RateLimiter
{
    private readonly int _permitLimit;
    private readonly TimeSpan _window;
    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private long _windowStart;
    private int _used;

    public ClockedFixedWindowLimiter(int permitLimit, TimeSpan window, TimeProvider clock)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(permitLimit);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(clock);
        _permitLimit = permitLimit;
        _window = window;
        _clock = clock;
        _windowStart = clock.GetTimestamp();
    }

    /// <summary>Idle (so the partitioned limiter may drop it) while nothing is counted in the current window.</summary>
    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_gate)
            {
                var now = _clock.GetTimestamp();
                Roll(now);
                return _used == 0 ? _clock.GetElapsedTime(_windowStart, now) : null;
            }
        }
    }

    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_gate)
        {
            Roll(_clock.GetTimestamp());
            return new RateLimiterStatistics { CurrentAvailablePermits = _permitLimit - _used };
        }
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(permitCount);
        lock (_gate)
        {
            var now = _clock.GetTimestamp();
            Roll(now);
            if (_used + permitCount <= _permitLimit && (permitCount > 0 || _used < _permitLimit))
            {
                _used += permitCount;
                return Lease.Granted;
            }

            return new Lease(false, _window - _clock.GetElapsedTime(_windowStart, now));
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(permitCount));

    /// <summary>Moves to the window <paramref name="now"/> falls in; windows stay aligned to the first one.</summary>
    private void Roll(long now)
    {
        var elapsed = _clock.GetElapsedTime(_windowStart, now);
        if (elapsed >= _window)
        {
            var windows = elapsed.Ticks / _window.Ticks;
            _windowStart += (long)(windows * _window.Ticks * (_clock.TimestampFrequency / (double)TimeSpan.TicksPerSecond));
            _used = 0;
        }
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Granted = new(true, null);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } after && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = after;
                return true;
            }

            metadata = null;
            return false;
        }
    }
}
