using Gateway.Core.Routing;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Identity;

/// <summary>
/// The role policies of <c>Gateway:Auth:Policies</c> (and the shipped ones the configuration does not redefine) for
/// the framework's authorization, in place of policies registered once in <see cref="AuthorizationOptions"/>: a reload
/// replaces them whole (a role granted to another team is the usual edit). Every other policy, <c>Authenticated</c>
/// included, comes from the options as before. The authorization middleware caches each endpoint's combined policy
/// until the endpoints change, so whoever replaces the policies also rebuilds the route table.
/// </summary>
public sealed class GatewayAuthorizationPolicies(IOptions<AuthorizationOptions> options, IOptions<GatewayOptions> gateway)
    : DefaultAuthorizationPolicyProvider(options)
{
    private volatile Dictionary<string, AuthorizationPolicy> _roles = Build(gateway.Value.Auth);

    /// <summary>
    /// The framework caches only its own provider's policies unless told; without the cache every authenticated request
    /// would combine its endpoint's policy afresh. The cache is dropped whenever the endpoints change.
    /// </summary>
    public override bool AllowsCachingPolicies => true;

    public override Task<AuthorizationPolicy?> GetPolicyAsync(string policyName) =>
        _roles.TryGetValue(policyName, out var policy) ? Task.FromResult<AuthorizationPolicy?>(policy) : base.GetPolicyAsync(policyName);

    /// <summary>Applies reloaded role policies; the caller has checked them against the routes that run.</summary>
    public void Replace(AuthConfig auth) => _roles = Build(auth ?? throw new ArgumentNullException(nameof(auth)));

    private static Dictionary<string, AuthorizationPolicy> Build(AuthConfig auth) =>
        GatewayIdentityServiceCollectionExtensions.Policies(auth).ToDictionary(
            pair => pair.Key,
            pair => new AuthorizationPolicyBuilder(JwtBearerDefaults.AuthenticationScheme).RequireAuthenticatedUser().RequireRole(pair.Value).Build(),
            StringComparer.OrdinalIgnoreCase);
}
