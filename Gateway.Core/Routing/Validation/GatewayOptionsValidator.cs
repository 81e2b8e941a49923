using Microsoft.Extensions.Options;

namespace Gateway.Core.Routing.Validation;

/// <summary>Validates the whole section at start-up; each message names the offending configuration key.</summary>
public sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        const string root = GatewayOptions.SectionName;

        if (options.Routes.Count == 0)
        {
            errors.Add($"{root}:Routes: at least one route is required.");
        }

        foreach (var (id, cluster) in options.Clusters)
        {
            ClusterConfigValidator.Validate($"{root}:Clusters:{id}", cluster, errors);
        }

        foreach (var (id, route) in options.Routes)
        {
            RouteConfigValidator.Validate($"{root}:Routes:{id}", route, options.Clusters, errors);
            AuthConfigValidator.ValidateRoute($"{root}:Routes:{id}", route, options, errors);
            RateLimitingValidator.ValidateRoute($"{root}:Routes:{id}", route, options.RateLimiting, errors);
            HeaderTransformValidator.Validate($"{root}:Routes:{id}", route.Headers, errors);
            RequestMatchValidator.Validate($"{root}:Routes:{id}", route, errors);
            NetworkListValidator.Validate($"{root}:Routes:{id}:AllowedClientNetworks", route.AllowedClientNetworks, errors);
            NetworkListValidator.Validate($"{root}:Routes:{id}:DeniedClientNetworks", route.DeniedClientNetworks, errors);
            CacheValidator.ValidateRoute($"{root}:Routes:{id}", route, errors);
            SignatureValidator.Validate($"{root}:Routes:{id}:Signature", route.Signature, errors);
            CorsValidator.ValidateRoute($"{root}:Routes:{id}", route, options.Cors, errors);
        }

        AuthConfigValidator.Validate($"{root}:Auth", options.Auth, errors);
        AuthConfigValidator.ValidatePolicyName($"{root}:Admin:Authorization", options.Admin.Authorization, options, errors);
        AuthConfigValidator.ValidatePolicyName($"{root}:Admin:MetricsAuthorization", options.Admin.MetricsAuthorization, options, errors);
        RateLimitingValidator.Validate($"{root}:RateLimiting", options.RateLimiting, errors);
        CorsValidator.Validate($"{root}:Cors", options.Cors, errors);

        DuplicateRouteValidator.Validate(root, options.Routes, errors);
        LimitsValidator.Validate($"{root}:Limits", options.Limits, errors);
        ShutdownValidator.Validate($"{root}:Shutdown", options.Shutdown, errors);
        CacheValidator.Validate($"{root}:Caching", options.Caching, options.Redis.IsConfigured, errors);
        NetworkListValidator.Validate($"{root}:TrustedProxies", options.TrustedProxies, errors);
        NetworkListValidator.Validate($"{root}:DeniedClientNetworks", options.DeniedClientNetworks, errors);
        if (options.Compression.MinimumSize < 0)
        {
            errors.Add($"{root}:Compression:MinimumSize: must be 0 or more bytes.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
