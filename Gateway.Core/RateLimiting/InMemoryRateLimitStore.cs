using System.Collections.Concurrent;

namespace Gateway.Core.RateLimiting;

/// <summary>
/// Decisions in process memory (the embedded default; right for one replica). Every decision is synchronous, so
/// the middleware's fast path never allocates a task. State idle for a whole window is dropped on a periodic sweep.
/// </summary>
public sealed class InMemoryRateLimitStore(TimeProvider time) : IRateLimitStore
{
    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);
    private long _nextSweep;

    public RateLimitDecision? TryDecide(string key, RateLimitPolicyConfig policy) => Decide(key, policy);

    public ValueTask<RateLimitDecision> DecideAsync(string key, RateLimitPolicyConfig policy, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Decide(key, policy));

    private RateLimitDecision Decide(string key, RateLimitPolicyConfig policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        Sweep(now, policy.Window);
        var counter = _counters.GetOrAdd(key, static _ => new Counter());
        lock (counter)
        {
            counter.LastUsed = now;
            return policy.Algorithm switch
            {
                RateLimitAlgorithm.FixedWindow => counter.FixedWindow(now, policy),
                RateLimitAlgorithm.TokenBucket => counter.TokenBucket(now, policy),
                _ => counter.SlidingWindow(now, policy),
            };
        }
    }

    private void Sweep(long now, TimeSpan window)
    {
        var due = Interlocked.Read(ref _nextSweep);
        if (now < due || Interlocked.CompareExchange(ref _nextSweep, now + (long)window.TotalMilliseconds, due) != due)
        {
            return;
        }

        foreach (var (key, counter) in _counters)
        {
            if (now - counter.LastUsed > (long)window.TotalMilliseconds * 2)
            {
                _counters.TryRemove(key, out _);
            }
        }
    }

    /// <summary>One partition's state; the fields used depend on the algorithm.</summary>
    private sealed class Counter
    {
        private readonly Queue<long> _log = new();
        private long _windowStart = long.MinValue;
        private long _count;
        private double _tokens = double.NaN;
        private long _refilledAt;

        public long LastUsed { get; set; }

        /// <summary>Admits while fewer than the limit were admitted in the last window (a sliding log).</summary>
        public RateLimitDecision SlidingWindow(long now, RateLimitPolicyConfig policy)
        {
            var window = (long)policy.Window.TotalMilliseconds;
            while (_log.Count > 0 && _log.Peek() <= now - window)
            {
                _log.Dequeue();
            }

            if (_log.Count < policy.PermitLimit)
            {
                _log.Enqueue(now);
                var reset = _log.Peek() + window - now;
                return RateLimitDecision.Admit(policy.PermitLimit, policy.PermitLimit - _log.Count, TimeSpan.FromMilliseconds(reset));
            }

            var retry = TimeSpan.FromMilliseconds(_log.Peek() + window - now);
            return RateLimitDecision.Deny(policy.PermitLimit, retry, retry);
        }

        public RateLimitDecision FixedWindow(long now, RateLimitPolicyConfig policy)
        {
            var window = (long)policy.Window.TotalMilliseconds;
            if (now >= _windowStart + window)
            {
                _windowStart = now - (now % window);
                _count = 0;
            }

            var reset = TimeSpan.FromMilliseconds(_windowStart + window - now);
            if (_count < policy.PermitLimit)
            {
                _count++;
                return RateLimitDecision.Admit(policy.PermitLimit, policy.PermitLimit - _count, reset);
            }

            return RateLimitDecision.Deny(policy.PermitLimit, reset, reset);
        }

        /// <summary>Capacity = PermitLimit, refilled continuously at PermitLimit per Window.</summary>
        public RateLimitDecision TokenBucket(long now, RateLimitPolicyConfig policy)
        {
            var capacity = (double)policy.PermitLimit;
            var perMs = capacity / policy.Window.TotalMilliseconds;
            _tokens = double.IsNaN(_tokens) ? capacity : Math.Min(capacity, _tokens + ((now - _refilledAt) * perMs));
            _refilledAt = now;
            if (_tokens >= 1)
            {
                _tokens -= 1;
                return RateLimitDecision.Admit(policy.PermitLimit, (long)Math.Floor(_tokens), TimeSpan.FromMilliseconds(Math.Ceiling((capacity - _tokens) / perMs)));
            }

            var retry = TimeSpan.FromMilliseconds(Math.Ceiling((1 - _tokens) / perMs));
            return RateLimitDecision.Deny(policy.PermitLimit, TimeSpan.FromMilliseconds(Math.Ceiling((capacity - _tokens) / perMs)), retry);
        }
    }
}
