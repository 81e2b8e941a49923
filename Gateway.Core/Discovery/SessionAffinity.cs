using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gateway.Core.Discovery;

public enum AffinityPolicy
{
    /// <summary>The key travels in a cookie the gateway sets.</summary>
    Cookie,

    /// <summary>The key travels in a header: the gateway answers it, the client sends it back.</summary>
    Header,
}

public enum AffinityFailurePolicy
{
    /// <summary>The session's instance is gone or out of rotation: another takes the request and the session.</summary>
    Redistribute,

    /// <summary>The session's instance is gone or out of rotation: 503, for services whose sessions cannot move.</summary>
    Return503,
}

/// <summary>
/// A cluster's session affinity (YARP's <c>SessionAffinity</c>): a client's requests go to the instance that
/// answered its first one, for services that keep a session in memory (a cart, an upload in parts).
/// </summary>
public sealed record SessionAffinityConfig
{
    public bool Enabled { get; init; }

    public AffinityPolicy Policy { get; init; } = AffinityPolicy.Cookie;

    /// <summary>The cookie's or header's name.</summary>
    public string AffinityKeyName { get; init; } = ".Gateway.Affinity";

    public AffinityFailurePolicy FailurePolicy { get; init; } = AffinityFailurePolicy.Redistribute;

    /// <summary>The cookie's attributes under the Cookie policy (YARP's <c>AffinityCookie</c>).</summary>
    public AffinityCookieConfig AffinityCookie { get; init; } = new();
}

/// <summary>
/// The affinity cookie's attributes. The defaults suit most sites: the whole site (the services behind one cluster may
/// sit under several routes), not readable by scripts, sent on top-level navigation, ending with the browser session.
/// </summary>
public sealed record AffinityCookieConfig
{
    public string Path { get; init; } = "/";

    /// <summary>None = the host that answered only.</summary>
    public string? Domain { get; init; }

    public bool HttpOnly { get; init; } = true;

    public Microsoft.AspNetCore.Http.SameSiteMode SameSite { get; init; } = Microsoft.AspNetCore.Http.SameSiteMode.Lax;

    /// <summary>SameAsRequest: when the client came over HTTPS, to the gateway or to a trusted proxy that ended TLS.</summary>
    public CookieSecurePolicy SecurePolicy { get; init; } = CookieSecurePolicy.SameAsRequest;

    /// <summary>None = a session cookie, gone when the browser closes.</summary>
    public TimeSpan? MaxAge { get; init; }
}

/// <summary>
/// The key a client holds names its instance by a hash of the instance's id: it shows clients neither addresses nor
/// ids, and every replica of the gateway reads it alike with no key to share. A client that makes one up can only
/// pick which healthy instance serves it.
/// </summary>
public static class SessionAffinity
{
    public static string KeyOf(string instanceId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(instanceId.ToUpperInvariant())).AsSpan(0, 12));

    /// <summary>The key the request carries, read from what goes upstream (the client's headers, copied).</summary>
    public static string? Requested(HttpRequestMessage request, SessionAffinityConfig config)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(config);
        if (config.Policy == AffinityPolicy.Header)
        {
            return request.Headers.NonValidated.TryGetValues(config.AffinityKeyName, out var values) && values.Count == 1 ? values.ToString() : null;
        }

        if (!request.Headers.NonValidated.TryGetValues(HeaderNames.Cookie, out var cookies))
        {
            return null;
        }

        foreach (var header in cookies)
        {
            foreach (var pair in header.Split(';', StringSplitOptions.TrimEntries))
            {
                if (pair.Length > config.AffinityKeyName.Length && pair[config.AffinityKeyName.Length] == '='
                    && pair.StartsWith(config.AffinityKeyName, StringComparison.Ordinal))
                {
                    return pair[(config.AffinityKeyName.Length + 1)..];
                }
            }
        }

        return null;
    }

    /// <summary>Gives the client its instance's key when it did not send that one already.</summary>
    /// <param name="secure">The client came over HTTPS, to the gateway or to the trusted proxy in front of it.</param>
    public static void Stick(HttpContext context, SessionAffinityConfig config, string? requested, ServiceInstance instance, bool secure)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(instance);
        if (string.Equals(requested, instance.AffinityKey, StringComparison.Ordinal))
        {
            return;
        }

        if (config.Policy == AffinityPolicy.Header)
        {
            context.Response.Headers[config.AffinityKeyName] = instance.AffinityKey;
            return;
        }

        var cookie = config.AffinityCookie;
        context.Response.Cookies.Append(config.AffinityKeyName, instance.AffinityKey, new CookieOptions
        {
            Path = cookie.Path,
            Domain = cookie.Domain,
            HttpOnly = cookie.HttpOnly,
            SameSite = cookie.SameSite,
            Secure = cookie.SecurePolicy switch
            {
                CookieSecurePolicy.Always => true,
                CookieSecurePolicy.None => false,
                _ => secure,
            },
            MaxAge = cookie.MaxAge,
        });
    }
}
