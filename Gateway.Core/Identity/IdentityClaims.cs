using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace Gateway.Core.Identity;

/// <summary>Role claims from the shapes identity providers use: <c>roles</c>, and Keycloak's nested ones.</summary>
public static class IdentityClaims
{
    public const string RoleClaimType = "roles";

    /// <summary>
    /// The request's user when authentication has established one, else null. Read through the feature because
    /// <c>HttpContext.User</c> builds an empty principal for every anonymous request that asks.
    /// </summary>
    public static ClaimsPrincipal? AuthenticatedUser(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<IHttpAuthenticationFeature>()?.User is { Identity.IsAuthenticated: true } user ? user : null;
    }

    /// <summary>
    /// Adds Keycloak's <c>realm_access.roles</c> and <c>resource_access.{client}.roles</c> (one client, or every one
    /// when <paramref name="clientId"/> is empty) as <c>roles</c> claims, without duplicates.
    /// </summary>
    public static void AddKeycloakRoles(ClaimsIdentity identity, string? clientId)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var roles = new HashSet<string>(identity.FindAll(RoleClaimType).Select(c => c.Value), StringComparer.Ordinal);
        var found = new List<string>();

        if (identity.FindFirst("realm_access")?.Value is { } realm)
        {
            found.AddRange(RolesIn(realm));
        }

        if (identity.FindFirst("resource_access")?.Value is { } resources && TryParse(resources) is { } document)
        {
            using (document)
            {
                foreach (var client in document.RootElement.EnumerateObject())
                {
                    if (string.IsNullOrEmpty(clientId) || client.NameEquals(clientId))
                    {
                        found.AddRange(RolesOf(client.Value));
                    }
                }
            }
        }

        foreach (var role in found)
        {
            if (roles.Add(role))
            {
                identity.AddClaim(new Claim(RoleClaimType, role));
            }
        }
    }

    private static string[] RolesIn(string json)
    {
        using var document = TryParse(json);
        return document is null ? [] : RolesOf(document.RootElement).ToArray();
    }

    private static IEnumerable<string> RolesOf(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty("roles", out var roles) && roles.ValueKind == JsonValueKind.Array)
        {
            foreach (var role in roles.EnumerateArray())
            {
                if (role.ValueKind == JsonValueKind.String && role.GetString() is { Length: > 0 } name)
                {
                    yield return name;
                }
            }
        }
    }

    private static JsonDocument? TryParse(string json)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
