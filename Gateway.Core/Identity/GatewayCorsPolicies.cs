using Gateway.Core.Routing;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Identity;

/// <summary>
/// The CORS policies of <c>Gateway:Cors</c> for the framework's CORS middleware, in place of its provider over
/// <see cref="CorsOptions"/>, which are built once: a reload replaces them whole (a new front end's origin is the
/// usual edit), and a request is answered under the set it started with.
/// </summary>
public sealed class GatewayCorsPolicies(IOptions<GatewayOptions> options) : ICorsPolicyProvider
{
    private static readonly Task<CorsPolicy?> None = Task.FromResult<CorsPolicy?>(null);

    // The task is kept with each policy: the middleware asks on every request with an Origin.
    private volatile Dictionary<string, Task<CorsPolicy?>> _policies = Build(options.Value.Cors);

    public Task<CorsPolicy?> GetPolicyAsync(HttpContext context, string? policyName) => Lookup(policyName);

    /// <summary>The named policy, or null when there is none.</summary>
    public CorsPolicy? Find(string? policyName) => Lookup(policyName).Result; // every task here is completed

    private Task<CorsPolicy?> Lookup(string? policyName) =>
        policyName is not null && _policies.TryGetValue(policyName, out var policy) ? policy : None;

    /// <summary>Applies a reloaded <c>Gateway:Cors</c>; the caller has checked it against the routes that run.</summary>
    public void Replace(IReadOnlyDictionary<string, CorsPolicyConfig> policies) => _policies = Build(policies ?? throw new ArgumentNullException(nameof(policies)));

    private static Dictionary<string, Task<CorsPolicy?>> Build(IReadOnlyDictionary<string, CorsPolicyConfig> policies) =>
        policies.ToDictionary(pair => pair.Key, pair => Task.FromResult<CorsPolicy?>(Policy(pair.Value)), StringComparer.OrdinalIgnoreCase);

    private static CorsPolicy Policy(CorsPolicyConfig config)
    {
        var policy = new CorsPolicyBuilder().WithOrigins(config.Origins);
        _ = config.Methods.Length == 0 ? policy.WithMethods("GET", "HEAD", "POST") : policy.WithMethods(config.Methods);
        _ = config.Headers.Length == 0 ? policy : policy.WithHeaders(config.Headers);
        policy.WithExposedHeaders([.. config.ExposedHeaders, "X-Correlation-ID"]);
        _ = config.AllowCredentials ? policy.AllowCredentials() : policy.DisallowCredentials();
        if (config.PreflightMaxAge is { } maxAge)
        {
            policy.SetPreflightMaxAge(maxAge);
        }

        return policy.Build();
    }
}
