using System.Globalization;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Forwarding;

/// <summary>
/// <c>Gateway:Limits:MaxRequestLineSize</c>, <c>MaxRequestHeadersTotalSize</c> and <c>MaxRequestHeaderCount</c>,
/// enforced where the answer can be a problem. Kestrel refuses a request line or headers over its own limits before any
/// middleware runs, with a bare 414 or 431: no body, no correlation id, no access line, nothing counted. So Kestrel's
/// limits are set to <see cref="KestrelLimit"/> (twice the configured ones) and this middleware answers what lies
/// between. They are measured as HTTP/1.1 puts them on the wire, as Kestrel counts them: the request line as method,
/// space, target, space, version, CRLF (for every protocol, so one limit means one thing); headers as name, colon,
/// space, value, CRLF, one field per value.
/// </summary>
public sealed class RequestHeadLimitMiddleware(RequestDelegate next, IOptions<GatewayOptions> options)
{
    // "HTTP/1.1", two spaces and CRLF.
    private const int RequestLineFraming = 12;

    private readonly int _lineLimit = options.Value.Limits.MaxRequestLineSize;
    private readonly int _headersLimit = options.Value.Limits.MaxRequestHeadersTotalSize;
    private readonly int _countLimit = options.Value.Limits.MaxRequestHeaderCount;

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
            return RefuseAsync(context, StatusCodes.Status414UriTooLong,
                string.Create(CultureInfo.InvariantCulture, $"The request line exceeds the gateway's limit of {_lineLimit} bytes."));
        }

        var (size, count) = Measure(request.Headers, _headersLimit, _countLimit);
        if (size > _headersLimit)
        {
            return RefuseAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge,
                string.Create(CultureInfo.InvariantCulture, $"The request's headers exceed the gateway's limit of {_headersLimit} bytes."));
        }

        return count > _countLimit
            ? RefuseAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge,
                string.Create(CultureInfo.InvariantCulture, $"The request has more header fields than the gateway's limit of {_countLimit}."))
            : next(context);
    }

    private static (long Size, int Count) Measure(IHeaderDictionary headers, int sizeAbove, int countAbove)
    {
        long size = 0;
        var count = 0;
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                size += name.Length + (value?.Length ?? 0) + 4;
                count++;
            }

            if (size > sizeAbove || count > countAbove)
            {
                break;
            }
        }

        return (size, count);
    }

    private static Task RefuseAsync(HttpContext context, int status, string detail) => GatewayProblems.WriteAsync(context, status, detail).AsTask();
}
