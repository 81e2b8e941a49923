using Gateway.Core.Forwarding;

namespace Gateway.Api.Admin;

/// <summary>Refuses any caller that is not on this machine.</summary>
/// <remarks>
/// The caller is the client address as <see cref="TrustedProxies"/> resolves it, not the TCP peer: behind a reverse
/// proxy on the same host every peer is loopback, and judging by the peer would open the admin API to the world.
/// </remarks>
internal sealed class LoopbackOnlyFilter(TrustedProxies proxies) : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var caller = proxies.ClientAddress(context.HttpContext);
        return caller is not null && System.Net.IPAddress.IsLoopback(caller)
            ? next(context)
            : ValueTask.FromResult<object?>(TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, detail: "The admin API is reachable from loopback only."));
    }
}
