using Microsoft.AspNetCore.Routing.Patterns;

namespace Gateway.Core.Routing.Validation;

/// <summary>
/// Two routes with the same pattern, an overlapping method and the same header conditions would make the endpoint
/// choice ambiguous (or leave the second unreachable).
/// </summary>
internal static class DuplicateRouteValidator
{
    public static void Validate(string root, IReadOnlyDictionary<string, RouteConfig> routes, List<string> errors)
    {
        var seen = new List<(string Id, string Shape, string[] Methods)>();
        foreach (var (id, route) in routes)
        {
            if (Shape(route.Path) is not { } path)
            {
                continue;
            }

            var shape = path + "#" + RequestMatchValidator.Canonical(route);

            foreach (var other in seen)
            {
                if (other.Shape == shape && MethodsOverlap(other.Methods, route.Methods))
                {
                    errors.Add($"{root}:Routes:{id}:Path: '{route.Path}' duplicates route '{other.Id}' for the same methods, header and query conditions.");
                }
            }

            seen.Add((id, shape, route.Methods));
        }
    }

    /// <summary>The pattern with parameter names erased, so <c>/a/{x}</c> and <c>/a/{y}</c> count as one.</summary>
    private static string? Shape(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return null;
        }

        try
        {
            var pattern = RoutePatternFactory.Parse(path);
            return string.Join('/', pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
            {
                RoutePatternLiteralPart literal => literal.Content.ToUpperInvariant(),
                RoutePatternSeparatorPart separator => separator.Content,
                RoutePatternParameterPart { IsCatchAll: true } => "{**}",
                _ => "{}",
            }))));
        }
        catch (RoutePatternException)
        {
            return null;
        }
    }

    private static bool MethodsOverlap(string[] a, string[] b) =>
        a.Length == 0 || b.Length == 0 || a.Intersect(b, StringComparer.OrdinalIgnoreCase).Any();
}
