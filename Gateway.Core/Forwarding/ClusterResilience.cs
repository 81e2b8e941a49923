using Gateway.Core.Discovery;
using Gateway.Core.Routing;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Gateway.Core.Forwarding;

/// <summary>
/// One pipeline per cluster, so the breaker counts the whole cluster; timeouts and retries vary per route
/// and are read from the request's <see cref="UpstreamCall"/>. Order (outermost first): concurrency limit (when the
/// cluster has one) → retry → circuit breaker → attempt timeout, the standard handler's order, so an attempt that
/// times out is a failure the breaker sees, and an open breaker answers before any attempt. The route's total timeout is not a strategy of its own: each
/// attempt's timeout is cut to what is left of the total, and no retry starts once it is spent. Same outcome as an
/// outer timeout strategy, with one timer per attempt instead of two.
/// </summary>
public static class ClusterResilience
{
    /// <summary>Upper bound for any route's retries; a route's own count is enforced per request.</summary>
    public const int MaxRetries = 10;

    private static readonly TimeSpan Expired = TimeSpan.FromMilliseconds(1);

    /// <param name="breakerState">Where the breaker, when the cluster has one, reports its state; one per breaker.</param>
    /// <param name="budgetSpent">Told when a retry was refused by the cluster's retry budget.</param>
    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> builder, string clusterId, ClusterConfig cluster, ServiceRegistry registry,
        CircuitBreakerStateProvider breakerState, TimeProvider time, Action? budgetSpent = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(registry);
        var budget = cluster.RetryBudget.Enabled ? new RetryBudget(cluster.RetryBudget, time) : null;

        // Outermost: one permit per request, held across its retries, and a refusal is no failure the breaker counts.
        if (cluster.MaxConcurrentRequests is { } permits)
        {
            builder.AddConcurrencyLimiter(permits, cluster.MaxQueuedRequests);
        }

        builder.AddRetry(new HttpRetryStrategyOptions
        {
            Name = "retry",
            MaxRetryAttempts = MaxRetries,
            ShouldRetryAfterHeader = false,
            DelayGenerator = static args => ValueTask.FromResult<TimeSpan?>(RetryDelay(args.Context, args.AttemptNumber)),
            ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args, budget, budgetSpent)),
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
                StateProvider = breakerState,
                ManualControl = registry.BreakerControlFor(clusterId),
            });
        }

        builder.AddTimeout(new HttpTimeoutStrategyOptions
        {
            Name = "attempt",
            TimeoutGenerator = static args => ValueTask.FromResult(AttemptTimeout(CallOf(args.Context))),
        });
    }

    internal static TimeSpan AttemptTimeout(UpstreamCall? call)
    {
        if (call is null)
        {
            return TimeSpan.FromSeconds(100);
        }

        var remaining = call.Remaining;
        return remaining <= TimeSpan.Zero ? Expired : remaining < call.Route.AttemptTimeout ? remaining : call.Route.AttemptTimeout;
    }

    private static UpstreamCall? CallOf(ResilienceContext context) => UpstreamCall.Of(context.GetRequestMessage());

    private static bool ShouldRetry(RetryPredicateArguments<HttpResponseMessage> args, RetryBudget? budget, Action? budgetSpent)
    {
        // Every call's first outcome passes here once, whatever it is: the requests the budget is a share of.
        if (args.AttemptNumber == 0)
        {
            budget?.Request();
        }

        var call = CallOf(args.Context);
        if (call is null || !call.Retryable || args.AttemptNumber >= call.Route.Retries
            || call.Remaining <= MinimumDelay(call, args.AttemptNumber))
        {
            return false;
        }

        // A client that went away is not a transient fault to retry.
        var transient = (args.Outcome.Exception is not OperationCanceledException || args.Outcome.Exception is TimeoutRejectedException)
            && HttpClientResiliencePredicates.IsTransient(args.Outcome);
        if (!transient || budget is null || budget.TryRetry())
        {
            return transient;
        }

        budgetSpent?.Invoke();
        System.Diagnostics.Activity.Current?.AddEvent(new System.Diagnostics.ActivityEvent("gateway.retry_budget_exhausted"));
        return false;
    }

    private static TimeSpan MinimumDelay(UpstreamCall call, int attempt) => call.Route.RetryDelay * Math.Pow(2, attempt) * 0.5;

    private static TimeSpan RetryDelay(ResilienceContext context, int attempt)
    {
        var call = CallOf(context);
        if (call is null)
        {
            return TimeSpan.FromMilliseconds(100);
        }

        // Full jitter between half and the whole delay keeps replicas from retrying in lockstep.
        return MinimumDelay(call, attempt) * (1 + Random.Shared.NextDouble());
    }
}
