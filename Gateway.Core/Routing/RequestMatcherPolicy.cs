using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;

namespace Gateway.Core.Routing;

/// <summary>
/// Routing's own extension point for <see cref="RequestMatchMetadata"/>: among the endpoints a path and method
/// select, one whose header or query conditions the request does not meet is set aside. A route with conditions
/// ranks above one without on the same path, so <c>X-Api-Version: 2</c> reaches the v2 route and every other
/// request the plain one, with no ambiguity. Without any route that has conditions the policy is not in the
/// matcher at all.
/// </summary>
internal sealed class RequestMatcherPolicy : MatcherPolicy, IEndpointComparerPolicy, IEndpointSelectorPolicy
{
    public override int Order => 0;

    public IComparer<Endpoint> Comparer { get; } = new ConditionsFirst();

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.Any(endpoint => endpoint.Metadata.GetMetadata<RequestMatchMetadata>() is not null);
    }

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(candidates);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates.IsValidCandidate(i)
                && candidates[i].Endpoint.Metadata.GetMetadata<RequestMatchMetadata>() is { } conditions
                && !conditions.Matches(httpContext.Request))
            {
                candidates.SetValidity(i, false);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// More conditions first, then the route id: two routes whose different conditions one request meets both
    /// (<c>X-Tenant</c> on one, <c>?region=</c> on the other) would otherwise be an ambiguous match, a 500.
    /// </summary>
    private sealed class ConditionsFirst : IComparer<Endpoint>
    {
        public int Compare(Endpoint? x, Endpoint? y)
        {
            var (a, b) = (x?.Metadata.GetMetadata<RequestMatchMetadata>(), y?.Metadata.GetMetadata<RequestMatchMetadata>());
            if (a is null || b is null)
            {
                return (a is null ? 0 : 1).CompareTo(b is null ? 0 : 1) * -1;
            }

            var byCount = b.Count.CompareTo(a.Count);
            return byCount != 0 ? byCount : StringComparer.OrdinalIgnoreCase.Compare(a.RouteId, b.RouteId);
        }
    }
}
