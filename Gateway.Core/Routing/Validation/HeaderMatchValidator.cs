namespace Gateway.Core.Routing.Validation;

/// <summary>A route's <c>MatchHeaders</c>: each condition names a header, and has values exactly when its mode compares them.</summary>
internal static class HeaderMatchValidator
{
    public static void Validate(string key, HeaderMatchConfig[] conditions, List<string> errors)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < conditions.Length; i++)
        {
            var condition = conditions[i];
            var at = $"{key}:MatchHeaders:{i}";
            if (string.IsNullOrWhiteSpace(condition.Name) || !Forwarding.HeaderRules.IsToken(condition.Name))
            {
                errors.Add($"{at}:Name: a header name is required (letters, digits and !#$%&'*+-.^_`|~).");
            }
            else if (!names.Add(condition.Name))
            {
                errors.Add($"{at}:Name: '{condition.Name}' has a condition already; put every value in one condition's Values.");
            }

            var compares = condition.Mode is HeaderMatchMode.Exact or HeaderMatchMode.Prefix;
            if (compares && (condition.Values.Length == 0 || condition.Values.Any(string.IsNullOrEmpty)))
            {
                errors.Add($"{at}:Values: mode {condition.Mode} compares the header with values; give at least one, none empty.");
            }
            else if (!compares && condition.Values.Length > 0)
            {
                errors.Add($"{at}:Values: mode {condition.Mode} looks at the header's presence only; values would be ignored.");
            }
        }
    }

    /// <summary>The conditions in one canonical form, so two routes with the same ones in another order count as the same.</summary>
    public static string Canonical(HeaderMatchConfig[] conditions) =>
        string.Join(';', conditions
            .Select(c => $"{c.Name?.ToUpperInvariant()}|{c.Mode}|{c.IsCaseSensitive}|{string.Join(',', c.Values.Select(v => c.IsCaseSensitive ? v : v.ToUpperInvariant()).Order(StringComparer.Ordinal))}")
            .Order(StringComparer.Ordinal));
}
