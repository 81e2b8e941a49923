using System.Collections.Concurrent;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Gateway.Core.Forwarding;
using Gateway.Core.Identity;
using Gateway.Core.Routing;
using Gateway.Core.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Gateway.Core.RateLimiting;

/// <summary>
/// The gateway's limiter, plugged into ASP.NET Core's rate-limiting middleware as its global limiter. It reads the
/// endpoint's policy from metadata and adds the user-class limit on gateway routes; every policy that applies must
/// admit. Endpoints without a policy take the synchronous path and pay nothing; in-memory decisions stay
/// synchronous; Redis decisions happen in the asynchronous path the middleware falls back to.
/// </summary>
public sealed class GatewayRateLimiter(
    IOptions<GatewayOptions> options,
    RateLimitStores stores,
    TrustedProxies proxies,
    StoreHealth storeHealth,
    RateLimitMetrics metrics) : PartitionedRateLimiter<HttpContext>
{
    private const string StoreName = "rate-limit";
    private const string DecisionEvent = "gateway.rate_limit";
    private readonly ConcurrentDictionary<string, StrongBox> _queued = new(StringComparer.OrdinalIgnoreCase);
    private volatile RateLimitPolicySet _policies = new(options.Value.RateLimiting, stores);

    /// <summary>
    /// Applies a reloaded <c>Gateway:RateLimiting</c> section from the next request on; one in flight finishes under the
    /// policies it was checked with. The caller has checked it against the routes that run.
    /// </summary>
    public void Replace(RateLimitingConfig config) => _policies = new(config ?? throw new ArgumentNullException(nameof(config)), stores);

    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => null;

    /// <summary>Whether any limit can apply to the request's endpoint: a route policy, or a user class on a gateway route.</summary>
    public bool Applies(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var policies = _policies;
        return context.GetEndpoint()?.Metadata.GetMetadata<IRateLimitPolicyMetadata>() is { } metadata
            && ((metadata.PolicyName is { } name && policies.Policies.ContainsKey(name)) || (metadata is GatewayRoute && policies.Classes.Count > 0));
    }

    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var metadata = resource.GetEndpoint()?.Metadata.GetMetadata<IRateLimitPolicyMetadata>();
        if (metadata is null || Evaluate(resource, metadata) is not { } evaluation)
        {
            return GatewayRateLimitLease.Unlimited;
        }

        resource.Features.Set(evaluation);
        if (evaluation.NeedsAuthentication)
        {
            return GatewayRateLimitLease.Pending;
        }

        foreach (var check in evaluation.Checks)
        {
            if (check.Store.TryDecide(check.Key, check.Policy) is not { } decision)
            {
                return GatewayRateLimitLease.Pending;
            }

            check.Decision = decision;
            if (!decision.Allowed)
            {
                return Pending(evaluation, check) ? GatewayRateLimitLease.Pending : Finish(resource, evaluation);
            }
        }

        return Finish(resource, evaluation);
    }

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (resource.Features.Get<RateLimitEvaluation>() is not { } evaluation)
        {
            return AttemptAcquireCore(resource, permitCount);
        }

        if (evaluation.NeedsAuthentication)
        {
            await ClassifyBearerAsync(resource, evaluation);
        }

        foreach (var check in evaluation.Checks)
        {
            try
            {
                check.Decision ??= await check.Store.DecideAsync(check.Key, check.Policy, cancellationToken);
                check.Decision = await WaitInQueueAsync(check, cancellationToken);
                storeHealth.Succeeded(StoreName);
            }
            catch (Exception ex) when (StoreHealth.IsFailure(ex, cancellationToken))
            {
                storeHealth.Failed(StoreName, ex);
                if (check.Policy.FailureMode == Identity.StoreFailureMode.FailClosed)
                {
                    Observability.GatewayTelemetry.Decision(DecisionEvent, "unavailable", check.PolicyName);
                    return GatewayRateLimitLease.Unavailable(evaluation);
                }

                check.Skipped = true;
                continue;
            }

            if (!check.Decision.Value.Allowed)
            {
                break;
            }
        }

        return Finish(resource, evaluation);
    }

    private RateLimitEvaluation? Evaluate(HttpContext context, IRateLimitPolicyMetadata metadata)
    {
        var policies = _policies;
        var checks = new List<RateLimitCheck>(2);
        var user = IdentityClaims.AuthenticatedUser(context);
        var userType = UserType(user, policies.Config);
        var isGatewayRoute = metadata is GatewayRoute;
        var needsAuthentication = isGatewayRoute && policies.Classes.Count > 0 && user is null
            && context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);

        if (isGatewayRoute && !needsAuthentication && policies.Classes.TryGetValue(userType, out var classPolicy))
        {
            checks.Add(NewCheck(classPolicy, context));
        }

        if (metadata.PolicyName is { } name && policies.Policies.TryGetValue(name, out var routePolicy))
        {
            checks.Add(NewCheck(routePolicy, context));
        }

        return checks.Count == 0 && !needsAuthentication
            ? null
            : new RateLimitEvaluation(metadata.RouteName, userType, checks, policies) { NeedsAuthentication = needsAuthentication };
    }

    private RateLimitCheck NewCheck(RateLimitPolicy policy, HttpContext context)
    {
        var partition = policy.Config.Partition == RateLimitPartition.Global ? "*" : PartitionKey(context);
        // The braces are a Redis Cluster hash tag: the key lands on one slot whatever the prefix and the shape.
        return new RateLimitCheck(policy, $"rl:{{{policy.Name}:{partition}}}{policy.KeyShape}");
    }

    private string PartitionKey(HttpContext context)
    {
        if (IdentityClaims.AuthenticatedUser(context)?.FindFirst("sub")?.Value is { Length: > 0 } subject)
        {
            return "u:" + (subject.AsSpan().IndexOfAny('{', '}') >= 0 ? Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(subject))) : subject);
        }

        return "ip:" + ClientAddressPartition.For(proxies.ClientAddress(context));
    }

    private static string UserType(ClaimsPrincipal? user, RateLimitingConfig config) =>
        user?.Identity?.IsAuthenticated != true ? "anonymous" : user.IsInRole(config.AdminRole) ? "admin" : "authenticated";

    /// <summary>On a public route a token is not required, but a valid one still earns its user's class budget.</summary>
    private async Task ClassifyBearerAsync(HttpContext context, RateLimitEvaluation evaluation)
    {
        var result = await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
        var principal = result.Succeeded ? result.Principal! : context.User;
        evaluation.NeedsAuthentication = false;
        evaluation.UserType = UserType(principal, evaluation.Policies.Config);
        // The route's checks were keyed before the token was read: key them again by the user it names.
        var original = context.User;
        context.User = principal;
        for (var i = 0; i < evaluation.Checks.Count; i++)
        {
            evaluation.Checks[i] = NewCheck(evaluation.Checks[i].Applied, context);
        }

        if (evaluation.Policies.Classes.TryGetValue(evaluation.UserType, out var classPolicy))
        {
            evaluation.Checks.Insert(0, NewCheck(classPolicy, context));
        }

        context.User = original;
    }

    /// <summary>A denied request may wait for the window to free a permit, if the policy has room in its queue.</summary>
    private async ValueTask<RateLimitDecision> WaitInQueueAsync(RateLimitCheck check, CancellationToken cancellationToken)
    {
        var decision = check.Decision!.Value;
        var policy = check.Policy;
        if (decision.Allowed || policy.QueueLimit == 0 || decision.RetryAfter > policy.QueueTimeout)
        {
            return decision;
        }

        var queued = _queued.GetOrAdd(check.PolicyName, static _ => new StrongBox());
        if (Interlocked.Increment(ref queued.Value) > policy.QueueLimit)
        {
            Interlocked.Decrement(ref queued.Value);
            return decision;
        }

        try
        {
            var deadline = DateTimeOffset.UtcNow + policy.QueueTimeout;
            while (!decision.Allowed && DateTimeOffset.UtcNow + decision.RetryAfter <= deadline)
            {
                await Task.Delay(decision.RetryAfter + TimeSpan.FromMilliseconds(1), cancellationToken);
                decision = await check.Store.DecideAsync(check.Key, policy, cancellationToken);
            }

            return decision;
        }
        finally
        {
            Interlocked.Decrement(ref queued.Value);
        }
    }

    private static bool Pending(RateLimitEvaluation evaluation, RateLimitCheck check) => check.Policy.QueueLimit > 0 && evaluation.Denied == check;

    private GatewayRateLimitLease Finish(HttpContext context, RateLimitEvaluation evaluation)
    {
        // The middleware asks again asynchronously after a synchronous refusal: answer the same, count it once.
        if (evaluation.Lease is { } decided)
        {
            return decided;
        }

        var lease = evaluation.Lease = GatewayRateLimitLease.For(evaluation);
        Observability.GatewayTelemetry.Decision(DecisionEvent, lease.IsAcquired ? "admitted" : "refused", evaluation.Denied?.PolicyName);
        if (!lease.IsAcquired)
        {
            metrics.Rejected(evaluation.Route, evaluation.UserType);
        }
        else if (!evaluation.HeadersRegistered && evaluation.Binding is not null)
        {
            evaluation.HeadersRegistered = true;
            context.Response.OnStarting(static state =>
            {
                var (ctx, eval) = ((HttpContext, RateLimitEvaluation))state;
                RateLimitHeaders.Write(ctx.Response, eval);
                return Task.CompletedTask;
            }, (context, evaluation));
        }

        return lease;
    }

    private sealed class StrongBox
    {
#pragma warning disable CA1051 // a field, so Interlocked can take it by reference
        public int Value;
#pragma warning restore CA1051
    }
}
