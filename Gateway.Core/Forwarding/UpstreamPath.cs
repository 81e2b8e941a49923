using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Gateway.Core.Forwarding;

/// <summary>
/// Guards against paths that could leave a route's target prefix upstream. Kestrel has already decoded the
/// path once and removed dot segments; whatever percent sign remains came from <c>%25</c> (double encoding) or
/// an encoded slash (<c>%2F</c>, kept encoded by Kestrel), and an upstream that decodes again could be walked out
/// of the prefix. Such paths, backslashes, control characters and stray dot segments are refused.
/// </summary>
public static class UpstreamPath
{
    public static bool IsSafe(PathString path)
    {
        var value = path.Value;
        if (string.IsNullOrEmpty(value))
        {
            return true;
        }

        foreach (var c in value)
        {
            if (c is '%' or '\\' or < ' ' or '\u007f')
            {
                return false;
            }
        }

        return !HasDotSegment(value);
    }

    /// <summary>The upstream path must stay under the route's literal target prefix (segment-wise).</summary>
    public static bool IsUnder(PathString upstreamPath, string targetPrefix) =>
        targetPrefix.Length == 0 || upstreamPath.StartsWithSegments(targetPrefix, StringComparison.OrdinalIgnoreCase);

    private static bool HasDotSegment(string value)
    {
        foreach (var segment in value.AsSpan().Split('/'))
        {
            var text = value.AsSpan(segment);
            if (text is "." or "..")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The query without one parameter (every occurrence), the rest kept byte for byte: a token that authenticated
    /// the request at the gateway is not handed to the upstream, whose access logs would keep it.
    /// </summary>
    public static string WithoutParameter(QueryString query, string name)
    {
        var text = query.Value;
        // Without the name and without escapes, nothing can name it: the query passes as it is.
        if (string.IsNullOrEmpty(text)
            || (!text.Contains(name, StringComparison.OrdinalIgnoreCase) && !text.Contains('%', StringComparison.Ordinal) && !text.Contains('+', StringComparison.Ordinal)))
        {
            return text ?? string.Empty;
        }

        var kept = text[1..].Split('&').Where(part => !Names(part, name)).ToArray();
        return kept.Length == 0 ? string.Empty : "?" + string.Join('&', kept);
    }

    /// <summary>
    /// True when the pair's key is <paramref name="name"/> as ASP.NET Core reads it, decoded by the framework's own
    /// query parser, in any case. Compared raw, <c>?%74oken=…</c> authenticated (the framework decodes the key) yet
    /// was not removed.
    /// </summary>
    private static bool Names(string pair, string name)
    {
        var pairs = new QueryStringEnumerable(pair).GetEnumerator();
        return pairs.MoveNext() && pairs.Current.DecodeName().Span.Equals(name, StringComparison.OrdinalIgnoreCase);
    }
}
