namespace Gateway.Core.Routing.Validation;

internal static class ClusterConfigValidator
{
    public static void Validate(string key, ClusterConfig cluster, List<string> errors)
    {
        if (cluster.Destinations.Count == 0)
        {
            errors.Add($"{key}:Destinations: at least one destination is required.");
        }
        else if (cluster.Destinations.Values.All(destination => destination.Backup))
        {
            errors.Add($"{key}:Destinations: every destination is a backup; a backup stands in for the others, so at least one must not be.");
        }

        foreach (var (id, destination) in cluster.Destinations)
        {
            var destinationKey = $"{key}:Destinations:{id}";
            if (!IsValidAddress(destination.Address))
            {
                errors.Add($"{destinationKey}:Address: '{destination.Address}' is not an absolute http(s) URL without query or fragment.");
            }

            if (destination.Weight is < 1 or > 1000)
            {
                errors.Add($"{destinationKey}:Weight: must be between 1 and 1000.");
            }
        }

        var health = cluster.HealthCheck;
        if (string.IsNullOrWhiteSpace(health.Path) || !health.Path.StartsWith('/'))
        {
            errors.Add($"{key}:HealthCheck:Path: must start with '/'.");
        }

        if (health.Interval <= TimeSpan.Zero || health.Timeout <= TimeSpan.Zero)
        {
            errors.Add($"{key}:HealthCheck: Interval and Timeout must be positive.");
        }

        if (health.UnhealthyThreshold < 1 || health.HealthyThreshold < 1)
        {
            errors.Add($"{key}:HealthCheck: UnhealthyThreshold and HealthyThreshold must be at least 1.");
        }

        if (cluster.HttpVersion is not ("1.1" or "2" or "2.0"))
        {
            errors.Add($"{key}:HttpVersion: '{cluster.HttpVersion}' is not 1.1 or 2.");
        }

        ValidateBreaker($"{key}:CircuitBreaker", cluster.CircuitBreaker, errors);
        if (cluster.MaxConcurrentRequests is < 1)
        {
            errors.Add($"{key}:MaxConcurrentRequests: must be at least 1 (leave it out for no limit).");
        }

        if (cluster.MaxQueuedRequests < 0 || (cluster.MaxQueuedRequests > 0 && cluster.MaxConcurrentRequests is null))
        {
            errors.Add($"{key}:MaxQueuedRequests: must be 0 or more, and needs MaxConcurrentRequests.");
        }
        ClusterHttpClientValidator.Validate($"{key}:HttpClient", cluster.HttpClient, errors);
        SessionAffinityValidator.Validate($"{key}:SessionAffinity", cluster.SessionAffinity, errors);
        if (cluster.RetryBudget is { Enabled: true } budget)
        {
            if (budget.Ratio is < 0 or > 10 || double.IsNaN(budget.Ratio))
            {
                errors.Add($"{key}:RetryBudget:Ratio: must be between 0 and 10 retries per request.");
            }

            if (budget.MinRetriesPerSecond < 0)
            {
                errors.Add($"{key}:RetryBudget:MinRetriesPerSecond: must be 0 or more.");
            }

            if (budget.Window < TimeSpan.FromSeconds(1) || budget.Window > TimeSpan.FromMinutes(5))
            {
                errors.Add($"{key}:RetryBudget:Window: must be between 00:00:01 and 00:05:00.");
            }
        }
    }

    // Polly's own limits, checked here so a bad value names its key instead of failing on the first request.
    private static void ValidateBreaker(string key, CircuitBreakerConfig breaker, List<string> errors)
    {
        if (!breaker.Enabled)
        {
            return;
        }

        if (breaker.FailureRatio is <= 0 or > 1)
        {
            errors.Add($"{key}:FailureRatio: must be above 0 and at most 1.");
        }

        if (breaker.MinimumThroughput < 2)
        {
            errors.Add($"{key}:MinimumThroughput: must be at least 2.");
        }

        if (breaker.SamplingDuration < TimeSpan.FromMilliseconds(500) || breaker.BreakDuration < TimeSpan.FromMilliseconds(500))
        {
            errors.Add($"{key}: SamplingDuration and BreakDuration must be at least 500 ms.");
        }
    }

    private static bool IsValidAddress(string? address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && string.IsNullOrEmpty(uri.Query)
        && string.IsNullOrEmpty(uri.Fragment)
        && string.IsNullOrEmpty(uri.UserInfo);
}
