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
    }

    private static bool IsMessageHeader(string name) =>
        name.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.SetCookie, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentType, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Authorization, StringComparison.OrdinalIgnoreCase);
}
