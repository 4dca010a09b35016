namespace EnvFabric.Durable.Worker;

/// <summary>Random exponential backoff from 50 ms to the max polling interval, as DTFx polls empty queues.</summary>
internal sealed class PollingBackoff(TimeSpan max)
{
    private const double StartMilliseconds = 50;
    private double _milliseconds = StartMilliseconds;

    public TimeSpan Next()
    {
        var jittered = _milliseconds * (0.8 + (Random.Shared.NextDouble() * 0.4));
        _milliseconds = Math.Min(_milliseconds * 2, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(Math.Min(jittered, max.TotalMilliseconds));
    }

    public void Reset() => _milliseconds = StartMilliseconds;
}
