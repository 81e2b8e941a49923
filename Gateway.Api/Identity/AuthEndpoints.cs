using Gateway.Core.Identity;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Gateway.Core.Storage;
using Microsoft.Extensions.Options;

namespace Gateway.Api.Identity;

/// <summary>Logout (revokes the presented token on every replica) and the admin side of tokens and sessions.</summary>
public static class AuthEndpoints
{
    private const string StoreName = "identity";

    public static void MapAuthEndpoints(this IEndpointRouteBuilder endpoints, RouteGroupBuilder admin)
    {
        ArgumentNullException.ThrowIfNull(admin);
        endpoints.MapPost(GatewayPaths.Logout, Logout)
            .RequireAuthorization(GatewayIdentityServiceCollectionExtensions.AuthenticatedPolicy)
            .AddEndpointFilter<StoreUnavailableFilter>();

        admin.MapPost("/users/{subject}/revoke-sessions", RevokeUser).AddEndpointFilter<StoreUnavailableFilter>();
        admin.MapPut("/sessions/{sessionId}", PutSession).AddEndpointFilter<StoreUnavailableFilter>();
        admin.MapDelete("/sessions/{sessionId}", DeleteSession).AddEndpointFilter<StoreUnavailableFilter>();
    }

    /// <summary>
    /// A write to an unreachable Redis is a 503 the caller can retry, never a 500. Writes do not fail open: a
    /// logout that was not stored must not look done.
    /// </summary>
    private sealed class StoreUnavailableFilter(StoreHealth storeHealth) : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            try
            {
                var result = await next(context);
                storeHealth.Succeeded(StoreName);
                return result;
            }
            catch (Exception ex) when (StoreHealth.IsFailure(ex, context.HttpContext.RequestAborted))
            {
                storeHealth.Failed(StoreName, ex);
                context.HttpContext.Response.Headers.RetryAfter = "5";
                await GatewayProblems.WriteAsync(context.HttpContext, StatusCodes.Status503ServiceUnavailable,
                    AuthFailure.Detail(AuthFailureReason.StoreUnavailable), AuthFailure.Code(AuthFailureReason.StoreUnavailable));
                return Results.Empty;
            }
        }
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

        if (body.Data is { } data && !SessionFeature.IsCarriable(data))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["data"] = [$"Session data must be at most {SessionFeature.MaxDataBytes} bytes (UTF-8)."] });
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
