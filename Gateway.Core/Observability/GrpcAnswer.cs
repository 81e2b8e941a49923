using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Gateway.Core.Observability;

/// <summary>
/// What the gateway needs to know of gRPC to answer a call itself and to read how a call ended: a gRPC call's outcome
/// is its <c>grpc-status</c> (in the trailers, or in the only header block of a trailers-only answer), never its
/// HTTP status, which is 200 for a failed call too.
/// </summary>
public static class GrpcAnswer
{
    public const string ContentType = "application/grpc";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";

    private const string WebContentType = "application/grpc-web";
    private const string WebTextContentType = "application/grpc-web-text";

    // The codes a label may carry: 0 (OK) to 16 (UNAUTHENTICATED); gRPC reads any other as UNKNOWN.
    private const int HighestCode = 16;
    private const int Unknown = 2;

    /// <summary>A gRPC or gRPC-Web call, by its content type (<c>application/grpc</c>, <c>application/grpc+proto</c>, ...).</summary>
    public static bool IsGrpc(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase);

    /// <summary>The content type an answer of the gateway's own carries: the call's kind, without its message format.</summary>
    public static string ResponseContentType(HttpRequest request) =>
        request.ContentType is not { } type ? ContentType
        : type.StartsWith(WebTextContentType, StringComparison.OrdinalIgnoreCase) ? WebTextContentType
        : type.StartsWith(WebContentType, StringComparison.OrdinalIgnoreCase) ? WebContentType
        : ContentType;

    /// <summary>
    /// The gRPC status of a refusal or failure the gateway would answer with this HTTP status. The gRPC spec's mapping
    /// of HTTP statuses (what a client guesses when it gets one) is the base, with the cases where the gateway knows
    /// more: a limit reached is RESOURCE_EXHAUSTED, which clients do not retry blindly, where the spec's 429 reads as
    /// UNAVAILABLE, the code gRPC retry policies retry at once; a timeout is DEADLINE_EXCEEDED, since the call may have
    /// run upstream, where UNAVAILABLE would promise it did not; and what the spec reads as an HTTP server's protocol
    /// error (400, INTERNAL) is the caller's bad argument when the gateway refuses it.
    /// </summary>
    public static int CodeFor(int httpStatus) => httpStatus switch
    {
        StatusCodes.Status400BadRequest or StatusCodes.Status415UnsupportedMediaType or StatusCodes.Status422UnprocessableEntity => 3, // INVALID_ARGUMENT
        StatusCodes.Status401Unauthorized => 16, // UNAUTHENTICATED
        StatusCodes.Status403Forbidden => 7, // PERMISSION_DENIED
        StatusCodes.Status404NotFound or StatusCodes.Status405MethodNotAllowed or StatusCodes.Status501NotImplemented => 12, // UNIMPLEMENTED
        StatusCodes.Status408RequestTimeout or StatusCodes.Status504GatewayTimeout => 4, // DEADLINE_EXCEEDED
        StatusCodes.Status409Conflict => 10, // ABORTED
        StatusCodes.Status413PayloadTooLarge or StatusCodes.Status429TooManyRequests => 8, // RESOURCE_EXHAUSTED
        StatusCodes.Status502BadGateway or StatusCodes.Status503ServiceUnavailable => 14, // UNAVAILABLE
        StatusCodes.Status500InternalServerError => 13, // INTERNAL
        _ => Unknown,
    };

    /// <summary>
    /// The codes gRPC's status guide puts on the server's side (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
    /// UNAVAILABLE, DATA_LOSS): they count as errors, as a 5xx does; the rest are the caller's, as a 4xx is.
    /// </summary>
    public static bool IsServerFailure(int code) => code is 2 or 4 or 12 or 13 or 14 or 15;

    /// <summary>A code as a metric label: one of gRPC's seventeen, anything else UNKNOWN, as gRPC reads it.</summary>
    public static int Label(int code) => (uint)code <= HighestCode ? code : Unknown;

    /// <summary>
    /// The status the client was sent: in the trailers, or in the headers of a trailers-only answer (the gateway's
    /// own, or an upstream's call that failed before its first message).
    /// </summary>
    public static int? StatusOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Parse(context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers?[StatusHeader] ?? default)
            ?? Parse(context.Response.Headers[StatusHeader]);
    }

    private static int? Parse(StringValues value) =>
        value.Count == 1 && int.TryParse(value[0], NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : null;

    /// <summary>
    /// <c>grpc-message</c> is percent-encoded UTF-8: printable ASCII but '%' as it is, every other byte as %XX, so a
    /// message in any language, or with a line break, stays one valid header value.
    /// </summary>
    public static string EncodeMessage(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!message.AsSpan().ContainsAnyExceptInRange(' ', '~') && !message.Contains('%', StringComparison.Ordinal))
        {
            return message;
        }

        var encoded = new StringBuilder(message.Length + 16);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E && b != '%')
            {
                encoded.Append((char)b);
            }
            else
            {
                encoded.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return encoded.ToString();
    }
}
