using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Gateway.Core.Storage;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Net.Http.Headers;

namespace Gateway.Core.Identity;

/// <summary>
/// The gateway's rules around JwtBearer: where a token may come from, revocation and session checks after the
/// signature is good, and RFC 9457 answers for 401/403 that say why without echoing the token.
/// </summary>
public sealed class GatewayJwtEvents(
    IOptions<GatewayOptions> gateway,
    ITokenRevocationStore revocations,
    ISessionStore sessions,
    StoreHealth storeHealth,
    ILogger<GatewayJwtEvents> logger) : JwtBearerEvents
{
    public const string QueryTokenParameter = "token";
    private const string StoreName = "identity";
    private const string DecisionEvent = "gateway.auth";

    public override Task MessageReceived(MessageReceivedContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        if (request.Headers.Authorization.Count == 0 && request.Query.TryGetValue(QueryTokenParameter, out var queryToken))
        {
            if (context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<GatewayRoute>()?.Config.AllowQueryToken == true)
            {
                context.Token = queryToken.ToString();
            }
            else
            {
                AuthFailure.Set(context.HttpContext, AuthFailureReason.QueryTokenNotAllowed);
                context.NoResult();
            }
        }

        return Task.CompletedTask;
    }

    public override Task AuthenticationFailed(AuthenticationFailedContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        AuthFailure.Set(context.HttpContext, context.Exception switch
        {
            // IdentityModel checks the lifetime of a token whose key id it does not know, and reads a missing expiry
            // as 0001-01-01: that token is not expired, it has no valid signature and no expiry.
            SecurityTokenExpiredException { Expires: var expires } when expires != DateTime.MinValue => AuthFailureReason.TokenExpired,
            SecurityTokenNotYetValidException => AuthFailureReason.TokenNotYetValid,
            // The authority has never been reached, so there is no issuer and no key to check a well-formed token
            // against: IdentityModel reports the first check that fails, but it is not the token's fault.
            not SecurityTokenMalformedException when context.Options.ConfigurationManager is AuthorityConfigurationManager { HasFetchedKeys: false }
                => AuthFailureReason.AuthorityUnavailable,
            _ => AuthFailureReason.TokenInvalid,
        });
        return Task.CompletedTask;
    }

    public override async Task TokenValidated(TokenValidatedContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var auth = gateway.Value.Auth;
        if (context.Principal?.Identity is not ClaimsIdentity identity || context.SecurityToken is not JsonWebToken token)
        {
            Fail(context, AuthFailureReason.TokenInvalid);
            return;
        }

        var tokenId = string.IsNullOrEmpty(token.Id) ? Sha256(token.EncodedToken) : token.Id;
        var route = context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<GatewayRoute>();
        try
        {
            var ct = context.HttpContext.RequestAborted;
            if (await revocations.IsRevokedAsync(tokenId, token.Subject, token.IssuedAt, ct))
            {
                storeHealth.Succeeded(StoreName);
                Fail(context, AuthFailureReason.TokenRevoked);
                return;
            }

            if (route?.Config.RequireSession == true)
            {
                var sessionId = identity.FindFirst(auth.SessionClaim)?.Value;
                if (sessionId is null || await sessions.GetAsync(sessionId, ct) is not { } data)
                {
                    storeHealth.Succeeded(StoreName);
                    Fail(context, AuthFailureReason.SessionExpired);
                    return;
                }

                if (!SessionFeature.IsCarriable(data))
                {
                    // Written to the store by something other than the admin API, which bounds it.
                    storeHealth.Succeeded(StoreName);
                    IdentityLog.SessionTooLarge(logger, route.Id, SessionFeature.MaxDataBytes);
                    Fail(context, AuthFailureReason.SessionTooLarge);
                    return;
                }

                context.HttpContext.Features.Set(new SessionFeature(sessionId, data));
            }

            storeHealth.Succeeded(StoreName);
        }
        catch (Exception ex) when (StoreHealth.IsFailure(ex, context.HttpContext.RequestAborted))
        {
            storeHealth.Failed(StoreName, ex);
            if (auth.StoreFailureMode == StoreFailureMode.FailClosed)
            {
                Fail(context, AuthFailureReason.StoreUnavailable);
                return;
            }
        }

        context.HttpContext.Features.Set(new ValidatedTokenFeature(tokenId, new DateTimeOffset(token.ValidTo, TimeSpan.Zero)));
        GatewayTelemetry.Decision(DecisionEvent, "authenticated");
    }

    public override async Task Challenge(JwtBearerChallengeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.HandleResponse();
        var http = context.HttpContext;
        var reason = AuthFailure.Get(http);
        GatewayTelemetry.Decision(DecisionEvent, AuthFailure.Code(reason));
        if (reason is AuthFailureReason.SessionTooLarge)
        {
            await GatewayProblems.WriteAsync(http, StatusCodes.Status502BadGateway, AuthFailure.Detail(reason), AuthFailure.Code(reason));
            return;
        }

        if (reason is AuthFailureReason.StoreUnavailable or AuthFailureReason.AuthorityUnavailable)
        {
            http.Response.Headers.RetryAfter = "5";
            await GatewayProblems.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, AuthFailure.Detail(reason), AuthFailure.Code(reason));
            return;
        }

        // RFC 6750: a bare challenge when no token came, error="invalid_token" when one was refused.
        http.Response.Headers[HeaderNames.WWWAuthenticate] = reason == AuthFailureReason.TokenMissing
            ? "Bearer"
            : string.Create(CultureInfo.InvariantCulture, $"Bearer error=\"invalid_token\", error_description=\"{AuthFailure.Code(reason)}\"");
        await GatewayProblems.WriteAsync(http, StatusCodes.Status401Unauthorized, AuthFailure.Detail(reason), AuthFailure.Code(reason));
    }

    public override async Task Forbidden(ForbiddenContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        GatewayTelemetry.Decision(DecisionEvent, "forbidden");
        await GatewayProblems.WriteAsync(context.HttpContext, StatusCodes.Status403Forbidden,
            "Acesso negado: o usuário não tem o papel exigido por esta rota (forbidden: missing role).", "forbidden");
    }

    private static void Fail(TokenValidatedContext context, AuthFailureReason reason)
    {
        AuthFailure.Set(context.HttpContext, reason);
        context.Fail(AuthFailure.Code(reason));
    }

    private static string Sha256(string token) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
