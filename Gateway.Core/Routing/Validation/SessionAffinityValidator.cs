using Gateway.Core.Discovery;
using Gateway.Core.Forwarding;
using Microsoft.Net.Http.Headers;

namespace Gateway.Core.Routing.Validation;

/// <summary>A cluster's session affinity: its key's name must be a cookie or header name the gateway leaves alone.</summary>
internal static class SessionAffinityValidator
{
    public static void Validate(string key, SessionAffinityConfig affinity, List<string> errors)
    {
        if (!affinity.Enabled)
        {
            return;
        }

        var name = affinity.AffinityKeyName;
        if (!HeaderRules.IsToken(name))
        {
            errors.Add($"{key}:AffinityKeyName: '{name}' is not a cookie or header name (letters, digits and !#$%&'*+-.^_`|~).");
        }
        else if (affinity.Policy == AffinityPolicy.Header
            && (HeaderRules.IsSkippedUpstream(name) || HeaderRules.IsSkippedDownstream(name) || IsMessageHeader(name)))
        {
            errors.Add($"{key}:AffinityKeyName: '{name}' is a header the gateway or HTTP itself sets; the key needs one of its own.");
        }

        var cookie = affinity.AffinityCookie;
        if (string.IsNullOrEmpty(cookie.Path) || cookie.Path[0] != '/' || cookie.Path.Any(c => c is ';' or ',' || char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            errors.Add($"{key}:AffinityCookie:Path: '{cookie.Path}' is not a cookie path (starting with '/', without ';', ',' or spaces).");
        }

        if (cookie.Domain is { Length: > 0 } domain && Uri.CheckHostName(domain.TrimStart('.')) != UriHostNameType.Dns)
        {
            errors.Add($"{key}:AffinityCookie:Domain: '{domain}' is not a domain name.");
        }

        if (cookie.MaxAge is { } maxAge && maxAge <= TimeSpan.Zero)
        {
            errors.Add($"{key}:AffinityCookie:MaxAge: must be positive (leave it out for a session cookie).");
        }

        // Browsers refuse SameSite=None without Secure: the cookie would never come back.
        if (cookie.SameSite == Microsoft.AspNetCore.Http.SameSiteMode.None && cookie.SecurePolicy != Microsoft.AspNetCore.Http.CookieSecurePolicy.Always)
        {
            errors.Add($"{key}:AffinityCookie:SameSite: None needs SecurePolicy Always; browsers drop such a cookie otherwise.");
        }
    }

    private static bool IsMessageHeader(string name) =>
        name.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.SetCookie, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentType, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Authorization, StringComparison.OrdinalIgnoreCase);
}
