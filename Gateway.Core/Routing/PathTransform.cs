using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Gateway.Core.Routing;

/// <summary>Turns the (already safety-checked) client path into the upstream path.</summary>
public abstract class PathTransform
{
    /// <summary>The literal start every upstream path of this route has; used as a last guard against escapes.</summary>
    public abstract string TargetPrefix { get; }

    /// <summary>
    /// The client-side prefix that <see cref="TargetPrefix"/> stands for, when the transform is just that swap
    /// below it (so an upstream path under the target maps back to the one client path that reaches it); null when
    /// it is not, and an upstream path cannot be mapped back.
    /// </summary>
    public abstract string? ClientPrefix { get; }

    public abstract PathString Apply(PathString requestPath, RouteValueDictionary routeValues);

    public static PathTransform Create(RoutePattern routePattern, PathTransformConfig? config)
    {
        if (config?.PathPattern is { } pattern)
        {
            return new PatternPathTransform(RoutePatternFactory.Parse(pattern), routePattern);
        }

        if (config?.PathRemovePrefix is { } prefix)
        {
            return new RemovePrefixPathTransform(prefix.TrimEnd('/'), LiteralPrefix(routePattern));
        }

        return new IdentityPathTransform(LiteralPrefix(routePattern));
    }

    /// <summary>The leading literal segments of a pattern, e.g. <c>/api/v1/quotes</c> of <c>/api/v1/quotes/{**rest}</c>.</summary>
    internal static string LiteralPrefix(RoutePattern pattern)
    {
        var builder = new StringBuilder();
        foreach (var segment in pattern.PathSegments)
        {
            if (!segment.IsSimple || segment.Parts[0] is not RoutePatternLiteralPart literal)
            {
                break;
            }

            builder.Append('/').Append(literal.Content);
        }

        return builder.ToString();
    }
}

public sealed class IdentityPathTransform(string targetPrefix) : PathTransform
{
    public override string TargetPrefix { get; } = targetPrefix;

    public override string? ClientPrefix => TargetPrefix;

    public override PathString Apply(PathString requestPath, RouteValueDictionary routeValues) => requestPath;
}

public sealed class RemovePrefixPathTransform : PathTransform
{
    private readonly PathString _prefix;

    public RemovePrefixPathTransform(string prefix, string routeLiteralPrefix)
    {
        _prefix = new PathString(prefix);
        var removable = new PathString(routeLiteralPrefix).StartsWithSegments(_prefix, StringComparison.OrdinalIgnoreCase, out var rest);
        TargetPrefix = removable ? rest.Value ?? string.Empty : string.Empty;
        // A route whose own prefix does not start with the removed one passes some paths through unchanged.
        ClientPrefix = removable ? routeLiteralPrefix : null;
    }

    public override string TargetPrefix { get; }

    public override string? ClientPrefix { get; }

    public override PathString Apply(PathString requestPath, RouteValueDictionary routeValues) =>
        requestPath.StartsWithSegments(_prefix, StringComparison.OrdinalIgnoreCase, out var remainder)
            ? (remainder.HasValue ? remainder : new PathString("/"))
            : requestPath;
}

/// <summary>Fills a pattern such as <c>/api/catalog/{**rest}</c> from the matched route values.</summary>
public sealed class PatternPathTransform(RoutePattern pattern, RoutePattern routePattern) : PathTransform
{
    public override string TargetPrefix { get; } = LiteralPrefix(pattern);

    // "/api/admin/catalog/{**rest}" → "/api/catalog/{**rest}" swaps prefixes; a pattern that moves or drops
    // parameters does not map back.
    public override string? ClientPrefix { get; } =
        TrailingCatchAll(pattern) is { } rest && string.Equals(rest, TrailingCatchAll(routePattern), StringComparison.OrdinalIgnoreCase)
            ? LiteralPrefix(routePattern)
            : null;

    public override PathString Apply(PathString requestPath, RouteValueDictionary routeValues)
    {
        var builder = new StringBuilder();
        foreach (var segment in pattern.PathSegments)
        {
            var start = builder.Length;
            builder.Append('/');
            foreach (var part in segment.Parts)
            {
                switch (part)
                {
                    case RoutePatternLiteralPart literal:
                        builder.Append(literal.Content);
                        break;
                    case RoutePatternSeparatorPart separator:
                        builder.Append(separator.Content);
                        break;
                    case RoutePatternParameterPart parameter:
                        builder.Append(routeValues.TryGetValue(parameter.Name, out var value) ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null);
                        break;
                }
            }

            // An empty trailing catch-all leaves "/x/" behind; drop the bare slash it would add.
            if (builder.Length == start + 1 && segment.Parts is [RoutePatternParameterPart { IsCatchAll: true }])
            {
                builder.Length = start;
            }
        }

        return new PathString(builder.Length == 0 ? "/" : builder.ToString());
    }

    /// <summary>The catch-all parameter a pattern ends with, when everything before it is literal; otherwise null.</summary>
    private static string? TrailingCatchAll(RoutePattern pattern)
    {
        var segments = pattern.PathSegments;
        for (var i = 0; i < segments.Count - 1; i++)
        {
            if (!segments[i].IsSimple || segments[i].Parts[0] is not RoutePatternLiteralPart)
            {
                return null;
            }
        }

        return segments is [.., { IsSimple: true, Parts: [RoutePatternParameterPart { IsCatchAll: true } catchAll] }] ? catchAll.Name : null;
    }
}
