using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Core.Identity;

/// <summary>
/// Every response of an endpoint whose CORS policy names its origins gets <c>Vary: Origin</c>, with or without an
/// Origin in the request: the allow header is there for an allowed origin only, so a shared cache that keys such a
/// response on the URL alone hands one origin's answer to another (Fetch, "CORS protocol and HTTP caches"). The
/// framework's CORS middleware adds it only for a policy of several origins, and only to a request with an Origin.
/// </summary>
public sealed class CorsVaryMiddleware(RequestDelegate next, GatewayCorsPolicies policies)
{
    private static readonly Func<object, Task> AddVary = static state =>
    {
        var headers = ((HttpResponse)state).Headers;
        if (!Names(headers.Vary, HeaderNames.Origin))
        {
            headers.Vary = StringValues.Concat(headers.Vary, HeaderNames.Origin);
        }

        return Task.CompletedTask;
    };

    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (VariesByOrigin(context.GetEndpoint()?.Metadata.GetMetadata<ICorsMetadata>()))
        {
            context.Response.OnStarting(AddVary, context.Response);
        }

        return next(context);
    }

    private bool VariesByOrigin(ICorsMetadata? metadata) => metadata switch
    {
        ICorsPolicyMetadata inline => !inline.Policy.AllowAnyOrigin,
        IEnableCorsAttribute named => policies.Find(named.PolicyName) is { AllowAnyOrigin: false },
        _ => false,
    };

    /// <summary>Whether a Vary header already lists the field (or <c>*</c>, which covers every field).</summary>
    internal static bool Names(StringValues vary, string field) =>
        Forwarding.HeaderRules.IsNamedIn(vary, field) || Forwarding.HeaderRules.IsNamedIn(vary, "*");
}
