using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Core.Routing;

public enum MatchMode
{
    /// <summary>One of the values, whole.</summary>
    Exact,

    /// <summary>Starts with one of the values.</summary>
    Prefix,

    /// <summary>Contains one of the values.</summary>
    Contains,

    /// <summary>Present, and contains none of the values.</summary>
    NotContains,

    /// <summary>Present, whatever its value.</summary>
    Exists,

    /// <summary>Absent.</summary>
    NotExists,
}

/// <summary>
/// One condition a route puts on a request header (YARP's <c>Match.Headers</c>: a canary by <c>X-Canary</c>, an API
/// version by <c>X-Api-Version</c>, a tenant) or on a query parameter (<c>Match.QueryParameters</c>: <c>?api-version=2</c>).
/// Values compare case-insensitively unless <see cref="IsCaseSensitive"/>.
/// </summary>
public sealed record MatchConditionConfig
{
    public string? Name { get; init; }

    public string[] Values { get; init; } = [];

    public MatchMode Mode { get; init; }

    public bool IsCaseSensitive { get; init; }
}

/// <summary>
/// A route's conditions on headers and query parameters as endpoint metadata, all of which a request must meet;
/// read by <see cref="RequestMatcherPolicy"/>. A header or parameter sent several times meets a condition when one
/// of its values does; a comma list in one header is one value. Parameters are compared decoded, by name
/// ignoring case, as <see cref="HttpRequest.Query"/> reads them.
/// </summary>
public sealed class RequestMatchMetadata(string routeId, IReadOnlyList<MatchConditionConfig> headers, IReadOnlyList<MatchConditionConfig> query)
{
    /// <summary>
    /// Of two routes with as many conditions that one request meets, the one whose id sorts first (ordinal, ignoring
    /// case) wins. Configuration keeps no order of its own: it hands sections over sorted by key.
    /// </summary>
    public string RouteId { get; } = routeId;

    public IReadOnlyList<MatchConditionConfig> Headers { get; } = headers;

    public IReadOnlyList<MatchConditionConfig> Query { get; } = query;

    public int Count => Headers.Count + Query.Count;

    public bool Matches(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        foreach (var condition in Headers)
        {
            if (!IsMet(condition, request.Headers.TryGetValue(condition.Name!, out var values) ? values : StringValues.Empty))
            {
                return false;
            }
        }

        // The query is parsed only for a route that looks at it.
        foreach (var condition in Query)
        {
            if (!IsMet(condition, request.Query.TryGetValue(condition.Name!, out var values) ? values : StringValues.Empty))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsMet(MatchConditionConfig condition, StringValues values) => condition.Mode switch
    {
        MatchMode.Exists => values.Count > 0,
        MatchMode.NotExists => values.Count == 0,
        MatchMode.NotContains => values.Count > 0 && !AnyValueMatches(condition, values),
        _ => values.Count > 0 && AnyValueMatches(condition, values),
    };

    private static bool AnyValueMatches(MatchConditionConfig condition, StringValues values)
    {
        var comparison = condition.IsCaseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        foreach (var value in values)
        {
            foreach (var expected in condition.Values)
            {
                var match = condition.Mode switch
                {
                    MatchMode.Prefix => value?.StartsWith(expected, comparison) == true,
                    MatchMode.Contains or MatchMode.NotContains => value?.Contains(expected, comparison) == true,
                    _ => string.Equals(value, expected, comparison),
                };
                if (match)
                {
                    return true;
                }
            }
        }

        return false;
    }
}
