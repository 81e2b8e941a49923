using Gateway.Core.Discovery;
using Gateway.Core.Routing;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Gateway.Core.Forwarding;

/// <summary>
/// One pipeline per cluster, so the breaker counts the whole cluster; timeouts and retries vary per route
/// and are read from the request's <see cref="UpstreamCall"/>. Order (outermost first): total timeout → retry →
/// circuit breaker → attempt timeout, the standard handler's order, so an attempt that times out is a failure
/// the breaker sees, and an open breaker answers before any attempt.
/// </summary>
public static class ClusterResilience
{
    /// <summary>Upper bound for any route's retries; a route's own count is enforced per request.</summary>
    public const int MaxRetries = 10;

    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> builder, string clusterId, ClusterConfig cluster, ServiceRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(registry);

        builder.AddTimeout(new HttpTimeoutStrategyOptions
        {
            Name = "total",
            TimeoutGenerator = static args => ValueTask.FromResult(CallOf(args.Context)?.Route.Timeout ?? TimeSpan.FromSeconds(100)),
        });

        builder.AddRetry(new HttpRetryStrategyOptions
        {
            Name = "retry",
            MaxRetryAttempts = MaxRetries,
            ShouldRetryAfterHeader = false,
            DelayGenerator = static args => ValueTask.FromResult<TimeSpan?>(RetryDelay(args.Context, args.AttemptNumber)),
            ShouldHandle = static args => ValueTask.FromResult(ShouldRetry(args)),
        });

        if (cluster.CircuitBreaker is { Enabled: true } breaker)
        {
            builder.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
            {
                Name = "breaker",
                FailureRatio = breaker.FailureRatio,
                MinimumThroughput = breaker.MinimumThroughput,
                SamplingDuration = breaker.SamplingDuration,
                BreakDuration = breaker.BreakDuration,
                StateProvider = registry.BreakerStateFor(clusterId),
            });
        }

        builder.AddTimeout(new HttpTimeoutStrategyOptions
        {
            Name = "attempt",
            TimeoutGenerator = static args => ValueTask.FromResult(CallOf(args.Context) is { } call
                ? call.Route.AttemptTimeout
                : TimeSpan.FromSeconds(100)),
        });
    }

    private static UpstreamCall? CallOf(ResilienceContext context) => UpstreamCall.Of(context.GetRequestMessage());

    private static bool ShouldRetry(RetryPredicateArguments<HttpResponseMessage> args)
    {
        var call = CallOf(args.Context);
        if (call is null || !call.Retryable || args.AttemptNumber >= call.Route.Retries)
        {
            return false;
        }

        // A client that went away is not a transient fault to retry.
        return args.Outcome.Exception is not OperationCanceledException || args.Outcome.Exception is TimeoutRejectedException
            ? HttpClientResiliencePredicates.IsTransient(args.Outcome)
            : false;
    }

    private static TimeSpan RetryDelay(ResilienceContext context, int attempt)
    {
        var baseDelay = CallOf(context)?.Route.RetryDelay ?? TimeSpan.FromMilliseconds(100);
        var exponential = baseDelay * Math.Pow(2, attempt);
        // Full jitter between half and the whole delay keeps replicas from retrying in lockstep.
        return exponential * (0.5 + (Random.Shared.NextDouble() * 0.5));
    }
}
