using Gateway.Core.RateLimiting;

namespace Gateway.Core.Routing.Validation;

internal static class RateLimitingValidator
{
    private static readonly string[] UserClasses = ["anonymous", "authenticated", "admin"];

    public static void Validate(string key, RateLimitingConfig config, List<string> errors)
    {
        foreach (var (name, policy) in config.Policies)
        {
            ValidatePolicy($"{key}:Policies:{name}", policy, errors);
        }

        // Health endpoints take the policy named "health"; probes and load balancers must always get through, so
        // it may never allow fewer than the seed's 1000 requests a minute.
        if (config.Policies.TryGetValue("health", out var health) && health.PermitLimit * (TimeSpan.FromMinutes(1) / health.Window) < 1000)
        {
            errors.Add($"{key}:Policies:health:PermitLimit: health endpoints are never limited below 1000 requests a minute ({health.PermitLimit} per {health.Window}).");
        }

        foreach (var (name, policy) in config.UserClasses)
        {
            if (!UserClasses.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{key}:UserClasses:{name}: user classes are {string.Join(", ", UserClasses)}.");
            }

            ValidatePolicy($"{key}:UserClasses:{name}", policy, errors);
        }
    }

    public static void ValidateRoute(string key, RouteConfig route, RateLimitingConfig config, List<string> errors)
    {
        if (!string.IsNullOrEmpty(route.RateLimitPolicy) && !config.Policies.ContainsKey(route.RateLimitPolicy))
        {
            errors.Add($"{key}:RateLimitPolicy: policy '{route.RateLimitPolicy}' is not defined under Gateway:RateLimiting:Policies.");
        }
    }

    private static void ValidatePolicy(string key, RateLimitPolicyConfig policy, List<string> errors)
    {
        if (policy.PermitLimit < 1)
        {
            errors.Add($"{key}:PermitLimit: must be at least 1.");
        }

        if (policy.Window < TimeSpan.FromMilliseconds(100) || policy.Window > TimeSpan.FromDays(1))
        {
            errors.Add($"{key}:Window: must be between 100 ms and 1 day.");
        }

        if (policy.Mode == RateLimitMode.Approximate && (policy.BatchSize < 1 || policy.BatchSize > policy.PermitLimit))
        {
            errors.Add($"{key}:BatchSize: must be between 1 and PermitLimit in approximate mode.");
        }

        if (policy.Mode == RateLimitMode.Approximate && policy.Algorithm != RateLimitAlgorithm.FixedWindow)
        {
            errors.Add($"{key}:Algorithm: approximate mode takes batches from a fixed window; set FixedWindow.");
        }

        if (policy.QueueLimit < 0 || policy.QueueTimeout < TimeSpan.Zero)
        {
            errors.Add($"{key}:QueueLimit: QueueLimit and QueueTimeout must not be negative.");
        }
    }
}
