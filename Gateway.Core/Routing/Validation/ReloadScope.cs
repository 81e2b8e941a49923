using Microsoft.Extensions.Configuration;

namespace Gateway.Core.Routing.Validation;

/// <summary>
/// Which settings of a reloaded <c>Gateway</c> section the running gateway takes and which wait for its next start.
/// Clusters follow: one the reload adds is added (its client and pipeline are made on its first request, its probes
/// start), and a kept one follows every setting (what is read per request or per probe, clients made again for new
/// connection settings, a resilience pipeline built again for a new breaker, retry budget or concurrency limit).
/// Routes follow as a whole table, when the running gateway can serve it (<see cref="GatewayRouteTable"/>); the rate
/// limits, CORS policies and role policies together, when the running configuration with them is valid; the
/// trusted proxies' list; and the networks denied everywhere. The caller takes the keys of what it took as running (<see cref="WithValuesOf"/>). Anything
/// else a reload changes, a removed cluster included, is named, so an operator who edited the file is not left to
/// find out which part of the edit is live.
/// </summary>
public static class ReloadScope
{
    private const string Prefix = GatewayOptions.SectionName + ":";
    private const string Clusters = Prefix + "Clusters:";
    private const string Routes = Prefix + "Routes:";

    /// <summary>The rate-limit section, as <see cref="RestartNeeded"/> names it; a reload takes it whole.</summary>
    public const string RateLimiting = Prefix + nameof(GatewayOptions.RateLimiting);

    /// <summary>The CORS section, as <see cref="RestartNeeded"/> names it; a reload takes it whole.</summary>
    public const string Cors = Prefix + nameof(GatewayOptions.Cors);

    /// <summary>The role policies, as <see cref="RestartNeeded"/> names them; a reload takes them whole, the rest of <c>Gateway:Auth</c> at the next start.</summary>
    public const string AuthPolicies = Prefix + nameof(GatewayOptions.Auth) + ":" + nameof(Identity.AuthConfig.Policies);

    /// <summary>The trusted proxies' list, as <see cref="RestartNeeded"/> names it; a reload takes it whole.</summary>
    public const string TrustedProxies = Prefix + nameof(GatewayOptions.TrustedProxies);

    /// <summary>The networks refused on every path, as <see cref="RestartNeeded"/> names them; a reload takes them whole.</summary>
    public const string DeniedClientNetworks = Prefix + nameof(GatewayOptions.DeniedClientNetworks);

    /// <summary>The section's values by key (case ignored, as configuration compares keys).</summary>
    public static Dictionary<string, string?> Snapshot(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in configuration.GetSection(GatewayOptions.SectionName).AsEnumerable())
        {
            // Sections come with a null value besides their children; only the values say what changed.
            if (value is not null)
            {
                values[key] = value;
            }
        }

        return values;
    }

    /// <summary>
    /// The settings that differ between the two snapshots and take effect only at the next start, sorted: a whole
    /// route (<c>Gateway:Routes:quotes</c>), a cluster added or removed (<c>Gateway:Clusters:new</c>), one setting of a
    /// kept cluster (<c>Gateway:Clusters:quote-service:CircuitBreaker</c>) or a section (<c>Gateway:Auth</c>).
    /// </summary>
    public static IReadOnlyList<string> RestartNeeded(IReadOnlyDictionary<string, string?> before, IReadOnlyDictionary<string, string?> after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var clustersAfter = ClusterIds(after);
        var settings = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var key in before.Keys.Concat(after.Keys).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (before.TryGetValue(key, out var old) == after.TryGetValue(key, out var current) && string.Equals(old, current, StringComparison.Ordinal))
            {
                continue;
            }

            if (SettingOf(key, clustersAfter) is { } setting)
            {
                settings.Add(setting);
            }
        }

        return [.. settings];
    }

    /// <summary>Whether a setting named by <see cref="RestartNeeded"/> is a route.</summary>
    public static bool IsRoute(string setting) => setting.StartsWith(Routes, StringComparison.OrdinalIgnoreCase);

    /// <summary>The route a route setting named by <see cref="RestartNeeded"/> (<c>Gateway:Routes:quotes</c>) is about.</summary>
    public static string RouteIdOf(string routeSetting) => routeSetting.Split(':')[2];

    /// <summary>Whether a key belongs to a section (<see cref="RateLimiting"/>, <see cref="Cors"/>).</summary>
    public static bool IsKeyOf(string section, string key)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(key);
        return key.StartsWith(section, StringComparison.OrdinalIgnoreCase) && (key.Length == section.Length || key[section.Length] == ':');
    }

    /// <summary>Whether a key belongs to one of these clusters.</summary>
    public static bool IsClusterKey(string key, IEnumerable<string> clusters) =>
        clusters.Any(id => key.StartsWith(Clusters + id + ":", StringComparison.OrdinalIgnoreCase));

    /// <summary>The running snapshot with the values of the keys now taken replaced by those of <paramref name="current"/>.</summary>
    public static Dictionary<string, string?> WithValuesOf(IReadOnlyDictionary<string, string?> running, IReadOnlyDictionary<string, string?> current, Func<string, bool> taken)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(taken);
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in running.Where(pair => !taken(pair.Key)).Concat(current.Where(pair => taken(pair.Key))))
        {
            values[key] = value;
        }

        return values;
    }

    private static string? SettingOf(string key, HashSet<string> clustersAfter)
    {
        var parts = key.Split(':');
        if (parts.Length < 2)
        {
            return key;
        }

        if (IsKeyOf(AuthPolicies, key))
        {
            return AuthPolicies;
        }

        if (key.StartsWith(Routes, StringComparison.OrdinalIgnoreCase) && parts.Length >= 3)
        {
            return string.Join(':', parts[..3]);
        }

        if (key.StartsWith(Clusters, StringComparison.OrdinalIgnoreCase) && parts.Length >= 4)
        {
            // One the reload leaves out keeps running until the next start; one it adds or keeps follows whole.
            return clustersAfter.Contains(parts[2]) ? null : string.Join(':', parts[..3]);
        }

        return string.Join(':', parts[..2]);
    }

    private static HashSet<string> ClusterIds(IReadOnlyDictionary<string, string?> values) =>
        values.Keys.Where(key => key.StartsWith(Clusters, StringComparison.OrdinalIgnoreCase))
            .Select(key => key.Split(':')[2])
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
}
