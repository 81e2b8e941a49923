namespace Gateway.Core.Routing.Validation;

internal static class CorsValidator
{
    public static void Validate(string key, IReadOnlyDictionary<string, CorsPolicyConfig> policies, List<string> errors)
    {
        foreach (var (name, cors) in policies)
        {
            if (cors.Origins.Length == 0 || (cors.AllowCredentials && cors.Origins.Contains("*")))
            {
                errors.Add($"{key}:{name}:Origins: list explicit origins (and never '*' with AllowCredentials).");
            }
        }
    }

    public static void ValidateRoute(string key, RouteConfig route, IReadOnlyDictionary<string, CorsPolicyConfig> policies, List<string> errors)
    {
        if (!string.IsNullOrEmpty(route.Cors) && !policies.ContainsKey(route.Cors))
        {
            errors.Add($"{key}:Cors: policy '{route.Cors}' is not defined under {GatewayOptions.SectionName}:Cors.");
        }
    }
}
