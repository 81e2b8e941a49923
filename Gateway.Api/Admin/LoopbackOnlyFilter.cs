namespace Gateway.Api.Admin;

/// <summary>Refuses any caller that is not on this machine.</summary>
internal sealed class LoopbackOnlyFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var peer = context.HttpContext.Connection.RemoteIpAddress;
        return peer is not null && System.Net.IPAddress.IsLoopback(peer)
            ? next(context)
            : ValueTask.FromResult<object?>(TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, detail: "The admin API is reachable from loopback only."));
    }
}
