using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gateway.Core.Forwarding;

/// <summary>Which headers cross the gateway, in one place (cf. YARP's RequestUtilities).</summary>
public static class HeaderRules
{
    public const string CorrelationId = "X-Correlation-ID";
    public const string RequestId = "X-Request-ID";
    public const string ResponseTime = "X-Response-Time";
    public const string TraceId = "X-Trace-ID";
    public const string GatewayVersion = "X-Gateway-Version";
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";
    public const string ForwardedFor = "X-Forwarded-For";
    public const string ForwardedProto = "X-Forwarded-Proto";
    public const string ForwardedHost = "X-Forwarded-Host";
    public const string IdempotencyKey = "Idempotency-Key";
    public const string UserId = "X-User-Id";
    public const string UserRoles = "X-User-Roles";

    /// <summary>Marks a mirrored copy (<see cref="RequestMirror"/>); a client's would make a real request pass for one.</summary>
    public const string Mirror = "X-Gateway-Mirror";
    public const string SessionId = "X-Session-Id";
    public const string SessionData = "X-Session-Data";
    private const string AuthPrefix = "X-Auth-";

    // Every control character but tab (RFC 9110 §5.5 lets a field value hold HTAB, SP and visible characters).
    private static readonly System.Buffers.SearchValues<char> ControlsButTab = System.Buffers.SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\n\u000b\u000c\r\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f");

    private static readonly System.Buffers.SearchValues<char> TokenChars = System.Buffers.SearchValues.Create(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>RFC 9110 §7.6.1 connection-specific headers, plus the legacy ones proxies also drop.</summary>
    private static readonly FrozenSet<string> HopByHop = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        HeaderNames.Connection, HeaderNames.KeepAlive, HeaderNames.ProxyConnection, HeaderNames.TE,
        HeaderNames.Trailer, HeaderNames.TransferEncoding, HeaderNames.Upgrade,
        HeaderNames.ProxyAuthenticate, HeaderNames.ProxyAuthorization);

    /// <summary>Request headers the gateway sets itself, so a client's copy is never passed on.</summary>
    private static readonly FrozenSet<string> OwnedUpstream = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        HeaderNames.Host, HeaderNames.Expect, CorrelationId, RequestId, GatewayVersion,
        ForwardedFor, ForwardedProto, ForwardedHost, "Forwarded", UserId, UserRoles, SessionId, SessionData, Mirror,
        // The gateway's span continues the client's trace and is the upstream's parent, so it sets these itself.
        TraceParent, TraceState);

    /// <summary>Response headers the gateway sets itself on the way back.</summary>
    private static readonly FrozenSet<string> OwnedDownstream = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        CorrelationId, ResponseTime, TraceId);

    public static bool IsHopByHop(string name) => HopByHop.Contains(name);

    /// <summary>Identity headers are the gateway's to set: a client's copy would be a spoofed identity.</summary>
    public static bool IsSkippedUpstream(string name) =>
        HopByHop.Contains(name) || OwnedUpstream.Contains(name) || name.StartsWith(':')
        || name.StartsWith(AuthPrefix, StringComparison.OrdinalIgnoreCase);

    public static bool IsSkippedDownstream(string name) => HopByHop.Contains(name) || OwnedDownstream.Contains(name);

    /// <summary>
    /// An upstream's Content-Length the client must not get: next to a Transfer-Encoding it measured nothing (the
    /// body came chunked or until close, and RFC 9112 §6.3 has a proxy remove it), and a 204 or 205 has no content
    /// to measure (RFC 9110 §8.6, §15.3.6). Kestrel would hold the response to the wrong length and break it.
    /// </summary>
    public static bool DropsContentLength(int status, bool transferEncoded) => transferEncoded || status is 204 or 205;

    /// <summary>True when a Transfer-Encoding lists a coding other than chunked (RFC 9112 §7).</summary>
    public static bool HasTransferCodingBesidesChunked(IEnumerable<string?> codings)
    {
        ArgumentNullException.ThrowIfNull(codings);
        foreach (var value in codings)
        {
            // Split as spans: every chunked answer passes here.
            var codingList = value.AsSpan();
            foreach (var range in codingList.Split(','))
            {
                var coding = codingList[range].Trim();
                if (!coding.IsEmpty && !coding.Equals("chunked", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Responses that carry no content to the client whatever the upstream sent after the head.</summary>
    public static bool HasNoContent(int status, string method) => status is 204 or 205 or 304 || HttpMethods.IsHead(method);

    /// <summary>
    /// True when <paramref name="name"/> is one of the tokens of a comma-separated header (a Connection header naming
    /// it makes it hop-by-hop too; a Vary header naming it says the response varies by it).
    /// </summary>
    public static bool IsNamedIn(StringValues connection, string name)
    {
        foreach (var value in connection)
        {
            // Split as spans: with a client's "Connection: keep-alive" this runs for every header it sends.
            var tokens = value.AsSpan();
            foreach (var range in tokens.Split(','))
            {
                if (tokens[range].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// Whether a value the gateway makes up (from a token's claims) can be a header field value as it is (RFC 9110
    /// §5.5): no control character but tab. Kestrel refuses such characters in what clients send, but claims are not
    /// headers, and with UTF-8 header encoding HttpClient writes them as they are, so a CR LF would end the header
    /// there and start one of the claim's choosing.
    /// </summary>
    public static bool IsFieldValue(string? value) => value is null || value.AsSpan().IndexOfAny(ControlsButTab) < 0;

    /// <summary>A header field name as RFC 9110 §5.1 allows it: a token of letters, digits and <c>!#$%&amp;'*+-.^_`|~</c>.</summary>
    public static bool IsToken([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? name) => !string.IsNullOrEmpty(name) && !name.AsSpan().ContainsAnyExcept(TokenChars);

    /// <summary>A correlation id we accept from a client: a short token of visible ASCII.</summary>
    public static bool IsSaneToken(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 128)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is <= ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}
