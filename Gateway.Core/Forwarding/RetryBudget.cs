namespace Gateway.Core.Forwarding;

/// <summary>
/// A cluster's retry budget (Linkerd's): over the last <see cref="Window"/>, retries may add at most
/// <see cref="Ratio"/> of the cluster's requests, plus <see cref="MinRetriesPerSecond"/> for a quiet cluster. A route's
/// <c>Retries</c> say how often one request may be tried; the budget keeps a failing service from being sent every
/// request that many more times at once, which turns its outage into an overload.
/// </summary>
public sealed record RetryBudgetConfig
{
    public bool Enabled { get; init; } = true;

    /// <summary>Retries allowed per request over the window, e.g. 0.2: at most one retry for five requests.</summary>
    public double Ratio { get; init; } = 0.2;

    /// <summary>Retries allowed per second whatever the traffic, so a cluster with few requests still retries.</summary>
    public int MinRetriesPerSecond { get; init; } = 10;

    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// The counts behind a <see cref="RetryBudgetConfig"/>: requests and retries per second, in a ring of one-second
/// buckets as long as the window.
/// </summary>
internal sealed class RetryBudget
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly long[] _seconds;
    private readonly int[] _requests;
    private readonly int[] _retries;
    private readonly double _ratio;
    private readonly double _floor;

    public RetryBudget(RetryBudgetConfig config, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(config);
        _time = time;
        var buckets = Math.Max(1, (int)Math.Ceiling(config.Window.TotalSeconds));
        (_seconds, _requests, _retries) = (new long[buckets], new int[buckets], new int[buckets]);
        Array.Fill(_seconds, long.MinValue);
        _ratio = config.Ratio;
        _floor = config.MinRetriesPerSecond * (double)buckets;
    }

    public void Request()
    {
        lock (_lock)
        {
            _requests[Bucket()]++;
        }
    }

    /// <summary>Takes one retry from the budget; false when the window's retries have used it up.</summary>
    public bool TryRetry()
    {
        lock (_lock)
        {
            var current = Bucket();
            var oldest = _seconds[current] - _seconds.Length;
            long requests = 0, retries = 0;
            for (var i = 0; i < _seconds.Length; i++)
            {
                if (_seconds[i] > oldest)
                {
                    requests += _requests[i];
                    retries += _retries[i];
                }
            }

            if (retries + 1 > (_ratio * requests) + _floor)
            {
                return false;
            }

            _retries[current]++;
            return true;
        }
    }

    /// <summary>This second's bucket, emptied first when it last counted an older second.</summary>
    private int Bucket()
    {
        var second = _time.GetUtcNow().ToUnixTimeSeconds();
        var index = (int)(second % _seconds.Length);
        if (_seconds[index] != second)
        {
            (_seconds[index], _requests[index], _retries[index]) = (second, 0, 0);
        }

        return index;
    }
}
