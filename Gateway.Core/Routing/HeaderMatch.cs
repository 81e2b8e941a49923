using Microsoft.AspNetCore.Http;

namespace Gateway.Core.Routing;

public enum HeaderMatchMode
{
    /// <summary>The header has one of the values, whole.</summary>
    Exact,

    /// <summary>The header starts with one of the values.</summary>
    Prefix,

    /// <summary>The header is present, whatever its value.</summary>
    Exists,

    /// <summary>The header is absent.</summary>
    NotExists,
}

/// <summary>
/// One condition on a request header a route takes besides its path and methods (YARP's <c>Match.Headers</c>): a
/// canary by <c>X-Canary</c>, an API version by <c>X-Api-Version</c>, a tenant. Values compare case-insensitively
/// unless <see cref="IsCaseSensitive"/>.
/// </summary>
public sealed record HeaderMatchConfig
{
    public string? Name { get; init; }

    public string[] Values { get; init; } = [];

    public HeaderMatchMode Mode { get; init; }

    public bool IsCaseSensitive { get; init; }
}

/// <summary>
/// A route's header conditions as endpoint metadata, all of which a request must meet; read by
/// <see cref="HeaderMatcherPolicy"/>. A header sent several times (or as a list) meets a condition when one of its
/// values does.
/// </summary>
public sealed class HeaderMatchMetadata(string routeId, IReadOnlyList<HeaderMatchConfig> conditions)
{
    /// <summary>
    /// Of two routes with as many conditions that one request meets, the one whose id sorts first (ordinal, ignoring
    /// case) wins. Configuration keeps no order of its own: it hands sections over sorted by key.
    /// </summary>
    public string RouteId { get; } = routeId;

    public IReadOnlyList<HeaderMatchConfig> Conditions { get; } = conditions;

    public bool Matches(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        foreach (var condition in Conditions)
        {
            var present = headers.TryGetValue(condition.Name!, out var values) && values.Count > 0;
            var met = condition.Mode switch
            {
                HeaderMatchMode.Exists => present,
                HeaderMatchMode.NotExists => !present,
                _ => present && AnyValueMatches(condition, values),
            };
            if (!met)
            {
                return false;
            }
        }

        return true;
    }

    private static bool AnyValueMatches(HeaderMatchConfig condition, Microsoft.Extensions.Primitives.StringValues values)
    {
        var comparison = condition.IsCaseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        foreach (var value in values)
        {
            foreach (var expected in condition.Values)
            {
                var match = condition.Mode == HeaderMatchMode.Prefix
                    ? value?.StartsWith(expected, comparison) == true
                    : string.Equals(value, expected, comparison);
                if (match)
                {
                    return true;
                }
            }
        }

        return false;
    }
}
