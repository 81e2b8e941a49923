namespace Gateway.Core.Routing;

/// <summary>A middleware the pipeline holds only when a route needs it, so the other routes pay nothing for it.</summary>
public enum RouteBranch
{
    GrpcWeb,
    Compression,
    Caching,
}

/// <summary>
/// Which routes need which optional middleware. The pipeline is built once, from the routes the gateway starts with;
/// a reloaded route table that needs a branch the pipeline lacks waits for the next start (<see cref="GatewayRouteTable"/>).
/// </summary>
public static class RouteBranches
{
    public static bool Needs(RouteConfig route, RouteBranch branch)
    {
        ArgumentNullException.ThrowIfNull(route);
        return branch switch
        {
            RouteBranch.GrpcWeb => route.GrpcWeb,
            RouteBranch.Compression => route.Compress,
            RouteBranch.Caching => route.Cache is not null,
            _ => throw new ArgumentOutOfRangeException(nameof(branch), branch, null),
        };
    }

    /// <summary>Whether a pipeline built from these options holds the branch.</summary>
    public static bool InPipeline(GatewayOptions options, RouteBranch branch)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Routes.Values.Any(route => Needs(route, branch));
    }

    /// <summary>The routes that need a branch the running pipeline lacks, each with the setting that needs it.</summary>
    public static IEnumerable<string> Missing(GatewayOptions running, IReadOnlyDictionary<string, RouteConfig> routes)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(routes);
        foreach (var branch in Enum.GetValues<RouteBranch>().Where(branch => !InPipeline(running, branch)))
        {
            foreach (var (id, _) in routes.Where(route => Needs(route.Value, branch)).OrderBy(route => route.Key, StringComparer.Ordinal))
            {
                yield return $"{GatewayOptions.SectionName}:Routes:{id} needs {Setting(branch)}, which no route had when the gateway started";
            }
        }
    }

    private static string Setting(RouteBranch branch) => branch switch
    {
        RouteBranch.GrpcWeb => nameof(RouteConfig.GrpcWeb),
        RouteBranch.Compression => nameof(RouteConfig.Compress),
        _ => nameof(RouteConfig.Cache),
    };
}
