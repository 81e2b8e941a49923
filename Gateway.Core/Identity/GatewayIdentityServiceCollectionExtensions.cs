using Gateway.Core.Routing;
using Gateway.Core.Storage;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Identity;

public static class GatewayIdentityServiceCollectionExtensions
{
    public const string AuthenticatedPolicy = "Authenticated";
    public const string AnonymousPolicy = "Anonymous";

    /// <summary>Policies every deployment has unless its configuration defines them otherwise.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> ShippedPolicies = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase)
    {
        ["AdminOnly"] = ["admin"],
        ["CustomerOrAdmin"] = ["customer", "admin"],
    };

    /// <summary>
    /// JwtBearer, role policies, CORS policies and the token stores (Redis when <c>Gateway:Redis</c> is set, memory
    /// otherwise). No default authenticate scheme: only routes that require authorization look at tokens, so
    /// anonymous traffic pays nothing for them.
    /// </summary>
    public static IServiceCollection AddGatewayIdentity(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StoreHealth>();
        services.TryAddSingleton<RedisConnection>();
        services.AddHostedService<RedisStartup>();

        var redisConfigured = configuration.GetSection("Gateway:Redis")[nameof(RedisConfig.Configuration)] is { Length: > 0 };
        if (redisConfigured)
        {
            services.TryAddSingleton<RedisTokenStores>();
            services.TryAddSingleton<ITokenRevocationStore>(sp => sp.GetRequiredService<RedisTokenStores>());
            services.TryAddSingleton<ISessionStore>(sp => sp.GetRequiredService<RedisTokenStores>());
        }
        else
        {
            services.TryAddSingleton<InMemoryTokenStores>();
            services.TryAddSingleton<ITokenRevocationStore>(sp => sp.GetRequiredService<InMemoryTokenStores>());
            services.TryAddSingleton<ISessionStore>(sp => sp.GetRequiredService<InMemoryTokenStores>());
        }

        services.TryAddSingleton<GatewayJwtEvents>();
        services.AddSingleton(sp =>
        {
            var auth = sp.GetRequiredService<IOptions<GatewayOptions>>().Value.Auth;
            return new CachingJsonWebTokenHandler(auth.ValidationCacheDuration, auth.ValidationCacheSize, sp.GetService<TimeProvider>(), auth.RoleClientId, auth.SessionClaim);
        });
        services.AddSingleton<IConfigureOptions<JwtBearerOptions>, JwtBearerSetup>();
        // A lone scheme would otherwise become the default and run the token handler on every request, public
        // routes included; policies name the scheme instead (and the rate limiter classifies bearers lazily).
        // AuthenticationOptions reads this documented switch; it has no public property for it.
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        services.AddAuthentication(options =>
        {
            options.DefaultChallengeScheme = JwtBearerDefaults.AuthenticationScheme;
            options.DefaultForbidScheme = JwtBearerDefaults.AuthenticationScheme;
        }).AddJwtBearer();
        services.AddSingleton<IPostConfigureOptions<JwtBearerOptions>, JwtBearerKeyRotation>();

        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure(authorization => authorization.AddPolicy(AuthenticatedPolicy, policy => policy
            .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
            .RequireAuthenticatedUser()));
        services.AddSingleton<GatewayAuthorizationPolicies>();
        services.Replace(ServiceDescriptor.Singleton<IAuthorizationPolicyProvider>(provider => provider.GetRequiredService<GatewayAuthorizationPolicies>()));

        services.AddCors();
        services.AddSingleton<GatewayCorsPolicies>();
        services.Replace(ServiceDescriptor.Singleton<ICorsPolicyProvider>(provider => provider.GetRequiredService<GatewayCorsPolicies>()));

        return services;
    }

    /// <summary>The configured role policies plus the shipped ones the configuration does not redefine.</summary>
    public static IEnumerable<KeyValuePair<string, string[]>> Policies(AuthConfig auth)
    {
        ArgumentNullException.ThrowIfNull(auth);
        foreach (var (name, policy) in auth.Policies)
        {
            yield return new(name, policy.Roles);
        }

        foreach (var (name, roles) in ShippedPolicies)
        {
            if (!auth.Policies.ContainsKey(name))
            {
                yield return new(name, roles);
            }
        }
    }
}
