using Gateway.Core.Forwarding;
using Microsoft.Net.Http.Headers;

namespace Gateway.Core.Routing.Validation;

/// <summary>
/// A route's header edits may touch only headers the gateway leaves to the two ends: never one it sets, drops or
/// frames the message with (<see cref="HeaderRules"/>). Values are never quoted in a message: a header set here is
/// often a credential for the upstream.
/// </summary>
internal static class HeaderTransformValidator
{
    public static void Validate(string key, HeadersConfig? headers, List<string> errors)
    {
        if (headers is null)
        {
            return;
        }

        ValidateSide($"{key}:Headers:Request", headers.Request, HeaderRules.IsSkippedUpstream, errors);
        ValidateSide($"{key}:Headers:Response", headers.Response, HeaderRules.IsSkippedDownstream, errors);
    }

    private static void ValidateSide(string key, HeaderEditsConfig edits, Func<string, bool> ownedByGateway, List<string> errors)
    {
        foreach (var (name, value) in edits.Set)
        {
            if (ValidateName($"{key}:Set:{name}", name, ownedByGateway, errors)
                && (!HeaderRules.IsFieldValue(value) || value.AsSpan().ContainsAnyExceptInRange('\t', '~')))
            {
                errors.Add($"{key}:Set:{name}: the value must be printable ASCII on one line.");
            }
        }

        for (var i = 0; i < edits.Remove.Length; i++)
        {
            var name = edits.Remove[i];
            if (ValidateName($"{key}:Remove:{i}", name, ownedByGateway, errors) && edits.Set.ContainsKey(name))
            {
                errors.Add($"{key}:Remove:{i}: '{name}' is also under {key}:Set; a header is either set or removed.");
            }
        }
    }

    private static bool ValidateName(string key, string? name, Func<string, bool> ownedByGateway, List<string> errors)
    {
        if (!HeaderRules.IsToken(name))
        {
            errors.Add($"{key}: '{name}' is not a header name (letters, digits and !#$%&'*+-.^_`|~).");
            return false;
        }

        if (ownedByGateway(name) || name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{key}: '{name}' is the gateway's to set or drop (hop-by-hop, framing, forwarding, identity, correlation or tracing).");
            return false;
        }

        return true;
    }
}
