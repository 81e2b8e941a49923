using Microsoft.AspNetCore.Routing.Patterns;

namespace Gateway.Core.Routing.Validation;

internal static class RouteConfigValidator
{
    private static readonly HashSet<string> KnownMethods = new(StringComparer.OrdinalIgnoreCase)
    {
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
    };

    public static void Validate(string key, RouteConfig route, IReadOnlyDictionary<string, ClusterConfig> clusters, List<string> errors)
    {
        var pattern = ValidatePath(key, route.Path, errors);
        if (pattern is not null && GatewayPaths.Claimed(PathTransform.LiteralPrefix(pattern)) is { } owned)
        {
            errors.Add($"{key}:Path: '{route.Path}' falls on '{owned}', which the gateway answers itself ({string.Join(", ", GatewayPaths.OwnedPrefixes)}, {string.Join(", ", GatewayPaths.OwnedPaths)}).");
        }

        if (string.IsNullOrWhiteSpace(route.ClusterId))
        {
            errors.Add($"{key}:ClusterId: a cluster is required.");
        }
        else if (!clusters.ContainsKey(route.ClusterId))
        {
            errors.Add($"{key}:ClusterId: cluster '{route.ClusterId}' is not defined under Gateway:Clusters.");
        }

        for (var i = 0; i < route.Methods.Length; i++)
        {
            if (!KnownMethods.Contains(route.Methods[i]))
            {
                errors.Add($"{key}:Methods:{i}: '{route.Methods[i]}' is not an HTTP method the gateway forwards.");
            }
        }

        // A handshake is a GET: a WebSocket route that cannot take one would never open a tunnel.
        if (route.WebSockets && route.Methods.Length > 0 && !route.Methods.Contains("GET", StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"{key}:WebSockets: a WebSocket handshake is a GET, which Methods does not allow.");
        }

        // The translation turns a call into gRPC, which services answer over HTTP/2 only; a gRPC call is a POST.
        if (route.GrpcWeb && route.ClusterId is { } grpcCluster && clusters.TryGetValue(grpcCluster, out var cluster) && !cluster.IsHttp2)
        {
            errors.Add($"{key}:GrpcWeb: cluster '{grpcCluster}' is reached over HTTP/1.1; gRPC needs HttpVersion \"2\".");
        }

        if (route.GrpcWeb && route.Methods.Length > 0 && !route.Methods.Contains("POST", StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"{key}:GrpcWeb: a gRPC-Web call is a POST, which Methods does not allow.");
        }

        if (route.Mirror is { } mirror)
        {
            ValidateMirror($"{key}:Mirror", route, mirror, clusters, errors);
        }

        if (route.MaxRequestBodySize is < 0)
        {
            errors.Add($"{key}:MaxRequestBodySize: must be zero or more bytes.");
        }

        // Polly's timeout strategy takes 10 ms to 1 day.
        if (route.Timeout is { } timeout && (timeout < TimeSpan.FromMilliseconds(10) || timeout > TimeSpan.FromDays(1)))
        {
            errors.Add($"{key}:Timeout: must be between 10 ms and 1 day.");
        }

        if (route.ResponseIdleTimeout is { } idle && (idle < TimeSpan.FromMilliseconds(10) || idle > TimeSpan.FromDays(1)))
        {
            errors.Add($"{key}:ResponseIdleTimeout: must be between 10 ms and 1 day.");
        }

        if (route.AttemptTimeout is { } attempt && (attempt < TimeSpan.FromMilliseconds(10) || (route.Timeout is { } total && attempt > total)))
        {
            errors.Add($"{key}:AttemptTimeout: must be at least 10 ms and not above Timeout.");
        }

        if (route.Retries is < 0 or > Gateway.Core.Forwarding.ClusterResilience.MaxRetries)
        {
            errors.Add($"{key}:Retries: must be between 0 and {Gateway.Core.Forwarding.ClusterResilience.MaxRetries}.");
        }

        if (route.RetryDelay < TimeSpan.Zero || route.RetryDelay > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{key}:RetryDelay: must be between 0 and 1 minute.");
        }

        if (route.Validation is { } validation && !Flows.RouteBodyValidation.Known.Contains(validation))
        {
            errors.Add($"{key}:Validation: '{validation}' is not a known validation ({string.Join(", ", Flows.RouteBodyValidation.Known)}).");
        }

        if (route.ValidationMaxBodySize is < 1 or > 16 * 1024 * 1024)
        {
            errors.Add($"{key}:ValidationMaxBodySize: must be between 1 byte and 16 MiB.");
        }

        if (route.Transform is { } transform && pattern is not null)
        {
            ValidateTransform($"{key}:Transform", transform, pattern, errors);
        }
    }

    private static RoutePattern? ValidatePath(string key, string? path, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(path) || !path.StartsWith('/'))
        {
            errors.Add($"{key}:Path: a route pattern starting with '/' is required.");
            return null;
        }

        try
        {
            return RoutePatternFactory.Parse(path);
        }
        catch (RoutePatternException ex)
        {
            errors.Add($"{key}:Path: '{path}' is not a valid route pattern ({ex.Message}).");
            return null;
        }
    }

    private static void ValidateTransform(string key, PathTransformConfig transform, RoutePattern routePattern, List<string> errors)
    {
        if (transform.PathPattern is not null && transform.PathRemovePrefix is not null)
        {
            errors.Add($"{key}: set PathPattern or PathRemovePrefix, not both.");
        }

        if (transform.PathRemovePrefix is { } prefix)
        {
            var literal = PathTransform.LiteralPrefix(routePattern);
            var trimmed = prefix.TrimEnd('/');
            if (!prefix.StartsWith('/') || !(literal.Equals(trimmed, StringComparison.OrdinalIgnoreCase)
                || literal.StartsWith(trimmed + "/", StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add($"{key}:PathRemovePrefix: '{prefix}' is not a leading part of the route path '{routePattern.RawText}'.");
            }
        }

        if (transform.PathPattern is { } target)
        {
            ValidatePathPattern($"{key}:PathPattern", target, routePattern, errors);
        }
    }

    private static void ValidatePathPattern(string key, string target, RoutePattern routePattern, List<string> errors)
    {
        RoutePattern parsed;
        try
        {
            parsed = RoutePatternFactory.Parse(target);
        }
        catch (RoutePatternException ex)
        {
            errors.Add($"{key}: '{target}' is not a valid pattern ({ex.Message}).");
            return;
        }

        if (!target.StartsWith('/'))
        {
            errors.Add($"{key}: '{target}' must start with '/'.");
        }

        foreach (var parameter in parsed.Parameters)
        {
            if (routePattern.GetParameter(parameter.Name) is null)
            {
                errors.Add($"{key}: parameter '{parameter.Name}' does not appear in the route path '{routePattern.RawText}'.");
            }
        }
    }

    private static void ValidateMirror(string key, RouteConfig route, Forwarding.RouteMirrorConfig mirror, IReadOnlyDictionary<string, ClusterConfig> clusters, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(mirror.ClusterId) || !clusters.ContainsKey(mirror.ClusterId))
        {
            errors.Add($"{key}:ClusterId: cluster '{mirror.ClusterId}' is not defined under Gateway:Clusters.");
        }
        else if (string.Equals(mirror.ClusterId, route.ClusterId, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{key}:ClusterId: the route's own cluster would get every copied request twice.");
        }

        if (mirror.Percent is <= 0 or > 100 || double.IsNaN(mirror.Percent))
        {
            errors.Add($"{key}:Percent: must be more than 0 and at most 100.");
        }

        // A tunnel's conversation and a gRPC-Web stream cannot be played twice.
        if (route.WebSockets || route.GrpcWeb)
        {
            errors.Add($"{key}: a route that tunnels WebSockets or translates gRPC-Web cannot be mirrored.");
        }
    }
}
