namespace Gateway.Core.Storage;

/// <summary>
/// <c>Gateway:Redis</c>. Without a configuration string the gateway keeps its stores in memory (one replica only).
/// </summary>
public sealed record RedisConfig
{
    /// <summary>A StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c>; empty = in-memory stores.</summary>
    public string? Configuration { get; init; }

    /// <summary>Prefix of every key the gateway writes, so several gateways can share one Redis.</summary>
    public string KeyPrefix { get; init; } = "gw:";

    /// <summary>Per-call bound; a slower Redis counts as unreachable for that call.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromMilliseconds(250);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Configuration);
}
