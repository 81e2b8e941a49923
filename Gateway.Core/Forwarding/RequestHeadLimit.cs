using System.Globalization;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Forwarding;

/// <summary>
/// <c>Gateway:Limits:MaxRequestLineSize</c> and <c>MaxRequestHeadersTotalSize</c>, enforced where the answer can be a
/// problem. Kestrel refuses a request line or headers over its own limits before any middleware runs, with a bare 414
/// or 431: no body, no correlation id, no access line, nothing counted. So Kestrel's limits are set to
/// <see cref="KestrelLimit"/> (twice the configured ones) and this middleware answers what lies between. Both are
/// measured as HTTP/1.1 puts them on the wire, as Kestrel counts them: the request line as method, space, target,
/// space, version, CRLF (for every protocol, so one limit means one thing); headers as name, colon, space, value, CRLF.
/// </summary>
public sealed class RequestHeadLimitMiddleware(RequestDelegate next, IOptions<GatewayOptions> options)
{
    // "HTTP/1.1", two spaces and CRLF.
    private const int RequestLineFraming = 12;

    private readonly int _lineLimit = options.Value.Limits.MaxRequestLineSize;
    private readonly int _headersLimit = options.Value.Limits.MaxRequestHeadersTotalSize;

    /// <summary>Kestrel's own limit, the backstop for what is too large to read at all.</summary>
    public static int KestrelLimit(int configured) => configured > int.MaxValue / 2 ? int.MaxValue : configured * 2;

    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        // The target as the client sent it: the decoded path is shorter than what the limit is about.
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value + request.QueryString.Value;
        if (request.Method.Length + target.Length + RequestLineFraming > _lineLimit)
        {
            return RefuseAsync(context, StatusCodes.Status414UriTooLong, "request line", _lineLimit);
        }

        return Measure(request.Headers, _headersLimit) > _headersLimit
            ? RefuseAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge, "request's headers", _headersLimit)
            : next(context);
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

    private static Task RefuseAsync(HttpContext context, int status, string what, int limit) =>
        GatewayProblems.WriteAsync(context, status,
            string.Create(CultureInfo.InvariantCulture, $"The {what} exceeds the gateway's limit of {limit} bytes.")).AsTask();
}
