using System.Globalization;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Forwarding;

/// <summary>
/// <c>Gateway:Limits:MaxRequestHeadersTotalSize</c>, enforced where the answer can be a problem. Kestrel refuses
/// headers over its own limit before any middleware runs, with a bare 431: no body, no correlation id, no access
/// line, nothing counted. So Kestrel's limit is set to <see cref="KestrelLimit"/> (twice the configured one) and this
/// middleware answers what lies between. Headers are measured as HTTP/1.1 puts them on the wire (name, colon, space,
/// value, CRLF), as Kestrel counts them.
/// </summary>
public sealed class RequestHeaderLimitMiddleware(RequestDelegate next, IOptions<GatewayOptions> options)
{
    private readonly int _limit = options.Value.Limits.MaxRequestHeadersTotalSize;

    /// <summary>Kestrel's own limit, the backstop for what is too large to read at all.</summary>
    public static int KestrelLimit(int configured) => configured > int.MaxValue / 2 ? int.MaxValue : configured * 2;

    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Measure(context.Request.Headers, _limit) > _limit ? RefuseAsync(context) : next(context);
    }

    private static long Measure(IHeaderDictionary headers, int stopAbove)
    {
        long total = 0;
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                total += name.Length + (value?.Length ?? 0) + 4;
            }

            if (total > stopAbove)
            {
                break;
            }
        }

        return total;
    }

    private Task RefuseAsync(HttpContext context)
    {
        return GatewayProblems.WriteAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge,
            string.Create(CultureInfo.InvariantCulture, $"The request's headers exceed the gateway's limit of {_limit} bytes.")).AsTask();
    }
}
