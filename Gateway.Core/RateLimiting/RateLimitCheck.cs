namespace Gateway.Core.RateLimiting;

/// <summary>One policy to pass for one request: the policy, the partition's key and the store that decides.</summary>
internal sealed class RateLimitCheck(RateLimitPolicy applied, string key)
{
    public RateLimitPolicy Applied { get; } = applied;

    public string PolicyName => Applied.Name;

    /// <summary>This policy's item of the <c>RateLimit-Policy</c> header (the same for every request).</summary>
    public string PolicyHeaderItem => Applied.HeaderItem;

    public RateLimitPolicyConfig Policy => Applied.Config;

    public string Key { get; } = key;

    public IRateLimitStore Store => Applied.Store;

    public RateLimitDecision? Decision { get; set; }

    /// <summary>The store failed and the policy fails open: this check no longer constrains the request.</summary>
    public bool Skipped { get; set; }
}

/// <summary>The checks of one request, kept as a request feature between the limiter's sync and async calls.</summary>
internal sealed class RateLimitEvaluation(string route, string userType, List<RateLimitCheck> checks, RateLimitPolicySet policies)
{
    /// <summary>The policies the request is checked with, kept should a reload replace them before it is decided.</summary>
    public RateLimitPolicySet Policies { get; } = policies;

    public string Route { get; } = route;

    public string UserType { get; set; } = userType;

    public List<RateLimitCheck> Checks { get; } = checks;

    /// <summary>A bearer token came on a route that did not authenticate: the user's class needs it read first.</summary>
    public bool NeedsAuthentication { get; set; }

    public bool HeadersRegistered { get; set; }

    public GatewayRateLimitLease? Lease { get; set; }

    public RateLimitCheck? Denied => Checks.FirstOrDefault(c => c.Decision is { Allowed: false });

    /// <summary>
    /// The check closest to refusing: its figures go in the X-RateLimit-* headers. A refusal first, then the fewest
    /// permits left; the first in order among equals.
    /// </summary>
    public RateLimitCheck? Binding
    {
        get
        {
            RateLimitCheck? binding = null;
            foreach (var check in Checks)
            {
                if (check.Decision is not { } decision)
                {
                    continue;
                }

                if (binding?.Decision is not { } best
                    || (best.Allowed && !decision.Allowed)
                    || (best.Allowed == decision.Allowed && decision.Remaining < best.Remaining))
                {
                    binding = check;
                }
            }

            return binding;
        }
    }
}
