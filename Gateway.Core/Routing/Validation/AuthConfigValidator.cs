using System.Text;
using Gateway.Core.Identity;

namespace Gateway.Core.Routing.Validation;

internal static class AuthConfigValidator
{
    public static void Validate(string key, AuthConfig auth, List<string> errors)
    {
        if (!string.IsNullOrWhiteSpace(auth.Authority) && !string.IsNullOrWhiteSpace(auth.SigningKey))
        {
            errors.Add($"{key}: set Authority (OIDC) or SigningKey (HS256), not both.");
        }

        if (!string.IsNullOrWhiteSpace(auth.Authority))
        {
            if (!Uri.TryCreate(auth.Authority, UriKind.Absolute, out var authority) || (authority.Scheme != Uri.UriSchemeHttps && authority.Scheme != Uri.UriSchemeHttp))
            {
                errors.Add($"{key}:Authority: '{auth.Authority}' is not an absolute http(s) URL.");
            }
            else if (authority.Scheme == Uri.UriSchemeHttp && auth.RequireHttpsMetadata)
            {
                errors.Add($"{key}:Authority: an http authority needs RequireHttpsMetadata=false (tests only).");
            }
        }

        if (!string.IsNullOrWhiteSpace(auth.SigningKey))
        {
            // Never echo the secret itself, only its size.
            if (Encoding.UTF8.GetByteCount(auth.SigningKey) < 32)
            {
                errors.Add($"{key}:SigningKey: must be at least 32 bytes for HS256.");
            }

            if (string.IsNullOrWhiteSpace(auth.Issuer))
            {
                errors.Add($"{key}:Issuer: is required with a SigningKey.");
            }
        }

        if (auth.IsConfigured && string.IsNullOrWhiteSpace(auth.Audience))
        {
            errors.Add($"{key}:Audience: is required; tokens are always checked for their audience.");
        }

        if (auth.ClockSkew < TimeSpan.Zero || auth.ClockSkew > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{key}:ClockSkew: must be between 0 and 5 minutes.");
        }

        if (auth.ValidationCacheDuration < TimeSpan.Zero || auth.ValidationCacheDuration > TimeSpan.FromHours(1))
        {
            errors.Add($"{key}:ValidationCacheDuration: must be between 0 (off) and 1 hour.");
        }

        if (auth.ValidationCacheSize < 1)
        {
            errors.Add($"{key}:ValidationCacheSize: must be at least 1.");
        }

        foreach (var (name, policy) in auth.Policies)
        {
            if (policy.Roles.Length == 0)
            {
                errors.Add($"{key}:Policies:{name}:Roles: at least one role is required.");
            }
        }
    }

    /// <summary>A route's Authorization must name a known policy, and any policy but Anonymous needs Auth configured.</summary>
    public static void ValidateRoute(string key, RouteConfig route, GatewayOptions options, List<string> errors)
    {
        var name = route.Authorization;
        if ((string.IsNullOrEmpty(name) || name.Equals(GatewayIdentityServiceCollectionExtensions.AnonymousPolicy, StringComparison.Ordinal)) && route.RequireSession)
        {
            errors.Add($"{key}:RequireSession: needs an Authorization other than Anonymous.");
        }

        ValidatePolicyName($"{key}:Authorization", name, options, errors);
    }

    public static void ValidatePolicyName(string key, string? name, GatewayOptions options, List<string> errors)
    {
        if (string.IsNullOrEmpty(name) || name.Equals(GatewayIdentityServiceCollectionExtensions.AnonymousPolicy, StringComparison.Ordinal))
        {
            return;
        }

        var known = name.Equals(GatewayIdentityServiceCollectionExtensions.AuthenticatedPolicy, StringComparison.Ordinal)
            || GatewayIdentityServiceCollectionExtensions.Policies(options.Auth).Any(p => p.Key.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (!known)
        {
            errors.Add($"{key}: policy '{name}' is not Anonymous, Authenticated or defined under Gateway:Auth:Policies.");
        }
        else if (!options.Auth.IsConfigured)
        {
            errors.Add($"{key}: '{name}' needs Gateway:Auth:Authority or Gateway:Auth:SigningKey.");
        }
    }
}
