using System.Threading.RateLimiting;

namespace Gateway.Core.RateLimiting;

/// <summary>A lease carrying the evaluation behind it, so the rejection writer can say why and for how long.</summary>
internal sealed class GatewayRateLimitLease : RateLimitLease
{
    public static readonly GatewayRateLimitLease Unlimited = new(true, null, storeUnavailable: false);

    /// <summary>Not decided yet: the middleware then calls the limiter's asynchronous path.</summary>
    public static readonly GatewayRateLimitLease Pending = new(false, null, storeUnavailable: false);

    private GatewayRateLimitLease(bool acquired, RateLimitEvaluation? evaluation, bool storeUnavailable)
    {
        IsAcquired = acquired;
        Evaluation = evaluation;
        StoreUnavailable = storeUnavailable;
    }

    public override bool IsAcquired { get; }

    public RateLimitEvaluation? Evaluation { get; }

    public bool StoreUnavailable { get; }

    public override IEnumerable<string> MetadataNames => IsAcquired ? [] : [MetadataName.RetryAfter.Name];

    public static GatewayRateLimitLease For(RateLimitEvaluation evaluation) => new(evaluation.Denied is null, evaluation, storeUnavailable: false);

    public static GatewayRateLimitLease Unavailable(RateLimitEvaluation evaluation) => new(false, evaluation, storeUnavailable: true);

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        if (metadataName == MetadataName.RetryAfter.Name && Evaluation?.Denied?.Decision is { } denied)
        {
            metadata = denied.RetryAfter;
            return true;
        }

        metadata = null;
        return false;
    }
}
