using Gateway.Core.Identity;
using Gateway.Core.Routing;
using Microsoft.Extensions.Options;

namespace Gateway.Api.Identity;

/// <summary>Logout (revokes the presented token on every replica) and the admin side of tokens and sessions.</summary>
public static class AuthEndpoints
{
    public static void MapAuthEndpoints(this IEndpointRouteBuilder endpoints, RouteGroupBuilder admin)
    {
        ArgumentNullException.ThrowIfNull(admin);
        endpoints.MapPost("/api/v1/auth/logout", Logout)
            .RequireAuthorization(GatewayIdentityServiceCollectionExtensions.AuthenticatedPolicy);

        admin.MapPost("/users/{subject}/revoke-sessions", RevokeUser);
        admin.MapPut("/sessions/{sessionId}", PutSession);
        admin.MapDelete("/sessions/{sessionId}", DeleteSession);
    }

    private static async Task<IResult> Logout(HttpContext context, ITokenRevocationStore revocations, TimeProvider time)
    {
        if (context.Features.Get<ValidatedTokenFeature>() is not { } token)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, detail: AuthFailure.Detail(AuthFailureReason.TokenInvalid));
        }

        var remaining = token.Expires - time.GetUtcNow();
        if (remaining > TimeSpan.Zero)
        {
            await revocations.RevokeTokenAsync(token.TokenId, remaining, context.RequestAborted);
        }

        return TypedResults.NoContent();
    }

    private static async Task<IResult> RevokeUser(string subject, ITokenRevocationStore revocations, IOptions<GatewayOptions> options, CancellationToken ct)
    {
        await revocations.RevokeUserAsync(subject, options.Value.Auth.MaxTokenLifetime, ct);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> PutSession(string sessionId, SessionBody body, ISessionStore sessions, CancellationToken ct)
    {
        if (body.Lifetime is not { } lifetime || lifetime <= TimeSpan.Zero || lifetime > TimeSpan.FromDays(30))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["lifetime"] = ["Lifetime must be between 0 and 30 days."] });
        }

        await sessions.SetAsync(sessionId, body.Data ?? "{}", lifetime, ct);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> DeleteSession(string sessionId, ISessionStore sessions, CancellationToken ct)
    {
        await sessions.RemoveAsync(sessionId, ct);
        return TypedResults.NoContent();
    }

    public sealed record SessionBody(string? Data, TimeSpan? Lifetime);
}
