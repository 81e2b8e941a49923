namespace Gateway.Core.Discovery;

public enum InstanceStatus
{
    Unknown,
    Healthy,
    Unhealthy,
}

public enum InstanceSource
{
    Configuration,
    Admin,
}

/// <summary>One upstream instance: its address and weight, and what the gateway has learned about it.</summary>
public sealed class ServiceInstance
{
    private const double EwmaAlpha = 0.3;
    private static readonly UriCreationOptions Verbatim = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private readonly Lock _healthLock = new();
    private int _consecutiveFailures;
    private int _consecutiveSuccesses;
    private int _inFlight;
    private long _ewmaBits;
    private volatile InstanceStatus _status;
    private volatile bool _draining;
    private DateTimeOffset? _lastCheck;

    public ServiceInstance(string id, string address, int weight, InstanceSource source, bool isBackup = false)
    {
        Id = id;
        var uri = new Uri(address, UriKind.Absolute);
        // Kept without a trailing slash so "base + /path" never doubles it.
        BaseAddress = uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        Weight = weight;
        Source = source;
        IsBackup = isBackup;
        AffinityKey = SessionAffinity.KeyOf(id);
    }

    public string Id { get; }

    /// <summary>What a client bound to this instance holds (<see cref="SessionAffinity"/>).</summary>
    public string AffinityKey { get; }

    public string BaseAddress { get; }

    public int Weight { get; }

    public InstanceSource Source { get; }

    /// <summary>Takes requests only while no primary instance can (nginx's <c>backup</c>).</summary>
    public bool IsBackup { get; }

    public InstanceStatus Status => _status;

    public DateTimeOffset? LastCheck => _lastCheck;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Exponentially weighted moving average of response-header latency, in milliseconds (0 until measured).</summary>
    public double EwmaMilliseconds => BitConverter.Int64BitsToDouble(Interlocked.Read(ref _ewmaBits));

    /// <summary>Selection state of smooth weighted round-robin; guarded by the cluster's selection lock.</summary>
    internal long CurrentWeight { get; set; }

    /// <summary>Taken out of rotation through the admin API: it gets no new clients, and finishes what it has.</summary>
    public bool Draining => _draining;

    /// <summary>The balancer may send it a request: in rotation, neither out by health nor draining.</summary>
    public bool IsSelectable => _status != InstanceStatus.Unhealthy && !_draining;

    /// <summary>
    /// It may serve a client bound to it by session affinity: a draining instance still does, so its sessions end
    /// on it (nginx's drain) while the balancer sends it no one new.
    /// </summary>
    public bool ServesBoundClients => _status != InstanceStatus.Unhealthy;

    public void Drain(bool draining) => _draining = draining;

    /// <summary>The upstream URI; the path was checked and escaped already, so Uri must not re-canonicalise it.</summary>
    public Uri BuildUri(string pathAndQuery) => new(string.Concat(BaseAddress, pathAndQuery), Verbatim);

    public void BeginRequest() => Interlocked.Increment(ref _inFlight);

    public void EndRequest(TimeSpan latency)
    {
        Interlocked.Decrement(ref _inFlight);
        var sample = latency.TotalMilliseconds;
        long seen, next;
        do
        {
            seen = Interlocked.Read(ref _ewmaBits);
            var current = BitConverter.Int64BitsToDouble(seen);
            next = BitConverter.DoubleToInt64Bits(current == 0 ? sample : current + (EwmaAlpha * (sample - current)));
        }
        while (Interlocked.CompareExchange(ref _ewmaBits, next, seen) != seen);
    }

    /// <summary>Records a probe or forwarded-call outcome; returns the status when it changed, otherwise null.</summary>
    public InstanceStatus? Record(bool success, int unhealthyThreshold, int healthyThreshold, bool isProbe)
    {
        lock (_healthLock)
        {
            if (isProbe)
            {
                _lastCheck = DateTimeOffset.UtcNow;
            }

            var before = _status;
            if (success)
            {
                _consecutiveFailures = 0;
                if (isProbe)
                {
                    _consecutiveSuccesses++;
                }

                // A forwarded success proves nothing about an instance the probes took out; only probes bring it back.
                if (isProbe && (before == InstanceStatus.Unknown || (before == InstanceStatus.Unhealthy && _consecutiveSuccesses >= healthyThreshold)))
                {
                    _status = InstanceStatus.Healthy;
                }
            }
            else
            {
                _consecutiveSuccesses = 0;
                _consecutiveFailures++;
                if (before != InstanceStatus.Unhealthy && _consecutiveFailures >= unhealthyThreshold)
                {
                    _status = InstanceStatus.Unhealthy;
                }
            }

            return _status == before ? null : _status;
        }
    }
}
