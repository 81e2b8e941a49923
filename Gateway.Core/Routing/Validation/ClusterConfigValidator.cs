namespace Gateway.Core.Routing.Validation;

internal static class ClusterConfigValidator
{
    public static void Validate(string key, ClusterConfig cluster, List<string> errors)
    {
        if (cluster.Destinations.Count == 0)
        {
            errors.Add($"{key}:Destinations: at least one destination is required.");
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
    }

    private static bool IsValidAddress(string? address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && string.IsNullOrEmpty(uri.Query)
        && string.IsNullOrEmpty(uri.Fragment)
        && string.IsNullOrEmpty(uri.UserInfo);
}
