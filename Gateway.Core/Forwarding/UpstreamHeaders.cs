using System.Net;
using System.Reflection;
using System.Security.Claims;
using Gateway.Core.Identity;
using Gateway.Core.Observability;
using Microsoft.Net.Http.Headers;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Core.Forwarding;

/// <summary>Builds the upstream request's headers from the client's, by the rules in <see cref="HeaderRules"/>.</summary>
public sealed class UpstreamHeaders(TrustedProxies trustedProxies)
{
    public static readonly string GatewayVersion = ReadVersion();

    public void Copy(HttpContext context, GatewayRoute route, HttpRequestMessage upstream)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(upstream);
        var headers = context.Request.Headers;
        var connection = headers.Connection;
        var edits = route.Headers;

        foreach (var (name, value) in headers)
        {
            if (HeaderRules.IsSkippedUpstream(name) || (connection.Count > 0 && HeaderRules.IsNamedIn(connection, name))
                || (!route.Config.ForwardToken && name.Equals(HeaderNames.Authorization, StringComparison.OrdinalIgnoreCase))
                || (edits is not null && edits.DropsUpstream(name)))
            {
                continue;
            }

            Add(upstream, name, value);
        }

        if (edits is not null)
        {
            foreach (var (name, value) in edits.RequestSet)
            {
                Add(upstream, name, value);
            }
        }

        if (route.PreserveHost)
        {
            upstream.Headers.Host = context.Request.Host.Value;
        }

        AddForwarded(context, upstream.Headers);
        if (IdentityClaims.AuthenticatedUser(context) is { } user)
        {
            AddIdentity(user, upstream.Headers);
        }
        AddSession(context, upstream.Headers);
        upstream.Headers.TryAddWithoutValidation(HeaderRules.CorrelationId, CorrelationId.Get(context));
        upstream.Headers.TryAddWithoutValidation(HeaderRules.GatewayVersion, GatewayVersion);
    }

    /// <summary>Content-* headers belong on the content; without a body they are dropped with it.</summary>
    private static void Add(HttpRequestMessage upstream, string name, StringValues value)
    {
        if (!TryAdd(upstream.Headers, name, value) && upstream.Content is { } content)
        {
            TryAdd(content.Headers, name, value);
        }
    }

    private void AddForwarded(HttpContext context, System.Net.Http.Headers.HttpRequestHeaders target)
    {
        var request = context.Request;
        var peer = TrustedProxies.Peer(context);
        var peerText = peer is null ? "unknown" : (peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer).ToString();

        if (trustedProxies.IsTrusted(peer))
        {
            var chain = request.Headers[HeaderRules.ForwardedFor];
            target.TryAddWithoutValidation(HeaderRules.ForwardedFor, chain.Count == 0 ? peerText : chain.ToString() + ", " + peerText);
            target.TryAddWithoutValidation(HeaderRules.ForwardedProto, FirstOr(request.Headers[HeaderRules.ForwardedProto], request.Scheme));
            AddHost(target, FirstOr(request.Headers[HeaderRules.ForwardedHost], request.Host.Value));
            return;
        }

        target.TryAddWithoutValidation(HeaderRules.ForwardedFor, peerText);
        target.TryAddWithoutValidation(HeaderRules.ForwardedProto, request.Scheme);
        AddHost(target, request.Host.Value);
    }

    // An HTTP/1.0 client may send no Host: an empty X-Forwarded-Host would tell the upstream of a host named "".
    private static void AddHost(System.Net.Http.Headers.HttpRequestHeaders target, string? host)
    {
        if (!string.IsNullOrEmpty(host))
        {
            target.TryAddWithoutValidation(HeaderRules.ForwardedHost, host);
        }
    }

    private static void AddIdentity(ClaimsPrincipal user, System.Net.Http.Headers.HttpRequestHeaders target)
    {
        if (user.FindFirst("sub")?.Value is { } subject)
        {
            target.TryAddWithoutValidation(HeaderRules.UserId, subject);
        }

        target.TryAddWithoutValidation(HeaderRules.UserRoles, string.Join(',', user.FindAll(IdentityClaims.RoleClaimType).Select(c => c.Value)));
    }

    /// <summary>
    /// The session a session route checked goes upstream with the request, so services need not read Redis
    /// themselves. Its data is whatever the login service stored, so it travels base64-encoded (UTF-8): a header
    /// value cannot carry line breaks or non-ASCII text.
    /// </summary>
    private static void AddSession(HttpContext context, System.Net.Http.Headers.HttpRequestHeaders target)
    {
        if (context.Features.Get<SessionFeature>() is not { } session)
        {
            return;
        }

        target.TryAddWithoutValidation(HeaderRules.SessionId, session.SessionId);
        target.TryAddWithoutValidation(HeaderRules.SessionData, Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(session.Data)));
    }

    private static string? FirstOr(StringValues values, string? fallback) => values.Count > 0 ? values[0] : fallback;

    private static bool TryAdd(System.Net.Http.Headers.HttpHeaders target, string name, StringValues value) =>
        value.Count == 1 ? target.TryAddWithoutValidation(name, value[0]) : target.TryAddWithoutValidation(name, (IEnumerable<string?>)value);

    private static string ReadVersion()
    {
        var version = typeof(UpstreamHeaders).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }
}

/// <summary>Copies the upstream's response headers to the client, by the rules in <see cref="HeaderRules"/>.</summary>
public static class DownstreamHeaders
{
    /// <summary>
    /// Copies the headers; <paramref name="transferEncoded"/> says whether the upstream sent a Transfer-Encoding,
    /// which the caller has looked up already.
    /// </summary>
    public static void Copy(HttpResponseMessage source, HttpResponse target, bool transferEncoded)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        var connection = source.Headers.NonValidated.TryGetValues(Microsoft.Net.Http.Headers.HeaderNames.Connection, out var values)
            ? new StringValues(values.ToArray())
            : StringValues.Empty;

        CopyFrom(source.Headers.NonValidated, target.Headers, connection, dropContentLength: false);
        CopyFrom(source.Content.Headers.NonValidated, target.Headers, connection, HeaderRules.DropsContentLength((int)source.StatusCode, transferEncoded));
    }

    private static void CopyFrom(System.Net.Http.Headers.HttpHeadersNonValidated source, IHeaderDictionary target, StringValues connection, bool dropContentLength)
    {
        foreach (var (name, values) in source)
        {
            if (HeaderRules.IsSkippedDownstream(name) || (connection.Count > 0 && HeaderRules.IsNamedIn(connection, name))
                || (dropContentLength && name.Equals(Microsoft.Net.Http.Headers.HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            target[name] = values.Count == 1 ? new StringValues(values.ToString()) : new StringValues(values.ToArray());
        }
    }
}
