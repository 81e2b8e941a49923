namespace Gateway.Core.Routing;

/// <summary>
/// The paths the gateway answers itself. A configured route may not take one: with the same pattern and method
/// routing cannot choose and every call is a 500, and under one of these prefixes a route would hide the gateway's
/// own endpoint or be hidden by it, depending on the method.
/// </summary>
public static class GatewayPaths
{
    public const string Health = "/health";
    public const string Metrics = "/metrics";
    public const string Admin = "/admin";
    public const string Logout = "/api/v1/auth/logout";
    public const string FreightFlow = "/api/v1/flows/freight";

    /// <summary>Whole namespaces: nothing under them is a route's.</summary>
    internal static readonly string[] OwnedPrefixes = [Health, Metrics, Admin];

    /// <summary>Single endpoints inside the routes' namespace.</summary>
    internal static readonly string[] OwnedPaths = [Logout, FreightFlow];

    /// <summary>The reserved path a route's leading literal segments fall on, if any.</summary>
    internal static string? Claimed(string literalPrefix)
    {
        foreach (var prefix in OwnedPrefixes)
        {
            if (literalPrefix.Equals(prefix, StringComparison.OrdinalIgnoreCase) || literalPrefix.StartsWith(prefix + "/", StringComparison.OrdinalIgnoreCase))
            {
                return prefix;
            }
        }

        foreach (var path in OwnedPaths)
        {
            if (literalPrefix.Equals(path, StringComparison.OrdinalIgnoreCase))
            {
                return path;
            }
        }

        return null;
    }
}
