namespace Gateway.Core.Routing.Validation;

/// <summary>
/// A route's <c>MatchHeaders</c> and <c>MatchQuery</c>: each condition names a header or parameter once, and has
/// values exactly when its mode compares them.
/// </summary>
internal static class RequestMatchValidator
{
    public static void Validate(string key, RouteConfig route, List<string> errors)
    {
        Validate($"{key}:MatchHeaders", "header", route.MatchHeaders, Forwarding.HeaderRules.IsToken, "a header name is required (letters, digits and !#$%&'*+-.^_`|~)", errors);
        Validate($"{key}:MatchQuery", "parameter", route.MatchQuery, IsParameterName, "a parameter name is required (printable, no '&', '=' or '#')", errors);
    }

    /// <summary>The conditions in one canonical form, so two routes with the same ones in another order count as the same.</summary>
    public static string Canonical(RouteConfig route) => "H:" + Canonical(route.MatchHeaders) + "#Q:" + Canonical(route.MatchQuery);

    private static void Validate(string key, string what, MatchConditionConfig[] conditions, Func<string, bool> isName, string nameRule, List<string> errors)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < conditions.Length; i++)
        {
            var condition = conditions[i];
            var at = $"{key}:{i}";
            if (string.IsNullOrWhiteSpace(condition.Name) || !isName(condition.Name))
            {
                errors.Add($"{at}:Name: {nameRule}.");
            }
            else if (!names.Add(condition.Name))
            {
                errors.Add($"{at}:Name: '{condition.Name}' has a condition already; put every value in one condition's Values.");
            }

            var compares = condition.Mode is not (MatchMode.Exists or MatchMode.NotExists);
            if (compares && (condition.Values.Length == 0 || condition.Values.Any(string.IsNullOrEmpty)))
            {
                errors.Add($"{at}:Values: mode {condition.Mode} compares the {what} with values; give at least one, none empty.");
            }
            else if (!compares && condition.Values.Length > 0)
            {
                errors.Add($"{at}:Values: mode {condition.Mode} looks at the {what}'s presence only; values would be ignored.");
            }
        }
    }

    // Compared decoded, as the query collection holds it: anything printable but the query's own delimiters.
    private static bool IsParameterName(string name) =>
        !name.AsSpan().ContainsAny("&=#") && !name.AsSpan().ContainsAnyInRange('\0', ' ') && !name.Contains('\u007f', StringComparison.Ordinal);

    private static string Canonical(MatchConditionConfig[] conditions) =>
        string.Join(';', conditions
            .Select(c => $"{c.Name?.ToUpperInvariant()}|{c.Mode}|{c.IsCaseSensitive}|{string.Join(',', c.Values.Select(v => c.IsCaseSensitive ? v : v.ToUpperInvariant()).Order(StringComparer.Ordinal))}")
            .Order(StringComparer.Ordinal));
}
