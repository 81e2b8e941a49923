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
        }

        DuplicateRouteValidator.Validate(root, options.Routes, errors);
        LimitsValidator.Validate($"{root}:Limits", options.Limits, errors);
        TrustedProxyValidator.Validate($"{root}:TrustedProxies", options.TrustedProxies, errors);

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
