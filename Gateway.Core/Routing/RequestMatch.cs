using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Core.Routing;

public enum MatchMode
{
    /// <summary>One of the values, whole; a header's comma list is split first (a cookie header's on semicolons).</summary>
    Exact,

    /// <summary>Starts with one of the values; a header's list is split as for <see cref="Exact"/>.</summary>
    Prefix,

    /// <summary>Contains one of the values.</summary>
    Contains,

    /// <summary>Contains none of the values, or is absent or empty.</summary>
    NotContains,

    /// <summary>Present; a header also not empty.</summary>
    Exists,

    /// <summary>Absent; for a header, or empty.</summary>
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
/// of its values does. Headers are read as YARP reads them, so a route moved from YARP selects the same requests: an
/// empty header is no header, and <see cref="MatchMode.Exact"/> and <see cref="MatchMode.Prefix"/> compare each item of
/// a list (<c>X-Feature: a, "b"</c> is <c>a</c> and <c>b</c>). Parameters are compared decoded, by name ignoring case,
/// as <see cref="HttpRequest.Query"/> reads them; a parameter without a value (<c>?preview</c>) is present, where YARP
/// wants a value, because a flag parameter is how APIs spell a switch.
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
            request.Headers.TryGetValue(condition.Name!, out var values);
            if (!IsMet(condition, values, present: !StringValues.IsNullOrEmpty(values), ListSeparator(condition.Name!)))
            {
                return false;
            }
        }

        // The query is parsed only for a route that looks at it.
        foreach (var condition in Query)
        {
            request.Query.TryGetValue(condition.Name!, out var values);
            if (!IsMet(condition, values, present: values.Count > 0, separator: null))
            {
                return false;
            }
        }

        return true;
    }

    private static char? ListSeparator(string header) =>
        header.Equals(Microsoft.Net.Http.Headers.HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase) ? ';' : ',';

    private static bool IsMet(MatchConditionConfig condition, StringValues values, bool present, char? separator) => condition.Mode switch
    {
        MatchMode.Exists => present,
        MatchMode.NotExists => !present,
        MatchMode.NotContains => !present || !AnyValueMatches(condition, values, separator),
        _ => present && AnyValueMatches(condition, values, separator),
    };

    private static bool AnyValueMatches(MatchConditionConfig condition, StringValues values, char? separator)
    {
        var comparison = condition.IsCaseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        foreach (var value in values)
        {
            if (value is null)
            {
                continue;
            }

            if (condition.Mode is MatchMode.Contains or MatchMode.NotContains)
            {
                if (condition.Values.Any(expected => value.Contains(expected, comparison)))
                {
                    return true;
                }

                continue;
            }

            var position = 0;
            while (NextItem(value, separator, ref position, out var item))
            {
                foreach (var expected in condition.Values)
                {
                    if (condition.Mode == MatchMode.Prefix ? item.StartsWith(expected, comparison) : item.Equals(expected, comparison))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The next item of a list header (RFC 9110 §5.6.1): up to a separator outside double quotes, without the spaces
    /// around it or one pair of quotes. Without a separator the whole value is the one item.
    /// </summary>
    private static bool NextItem(string value, char? separator, ref int position, out ReadOnlySpan<char> item)
    {
        if (position > value.Length)
        {
            item = default;
            return false;
        }

        if (separator is null)
        {
            item = value;
            position = value.Length + 1;
            return true;
        }

        var end = position;
        for (var quoted = false; end < value.Length && (quoted || value[end] != separator); end++)
        {
            quoted ^= value[end] == '"';
        }

        item = value.AsSpan(position, end - position).Trim(" \t");
        position = end + 1;
        if (item.Length > 1 && item[0] == '"' && item[^1] == '"')
        {
            item = item[1..^1];
        }

        return true;
    }
}
