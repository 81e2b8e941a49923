using Microsoft.AspNetCore.Http;

namespace Gateway.Core.Identity;

/// <summary>Why a request was not authenticated; chosen during validation, read when the 401 is written.</summary>
public enum AuthFailureReason
{
    TokenMissing,
    TokenInvalid,
    TokenExpired,
    TokenNotYetValid,
    TokenRevoked,
    SessionExpired,

    /// <summary>The session's data is more than the gateway carries upstream: the login service's fault, not the client's.</summary>
    SessionTooLarge,
    QueryTokenNotAllowed,
    StoreUnavailable,
    AuthorityUnavailable,
}

public static class AuthFailure
{
    private static readonly object ItemKey = new();

    public static void Set(HttpContext context, AuthFailureReason reason)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Items[ItemKey] = reason;
    }

    public static AuthFailureReason Get(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items.TryGetValue(ItemKey, out var value) && value is AuthFailureReason reason ? reason : AuthFailureReason.TokenMissing;
    }

    /// <summary>The problem's <c>detail</c>; never includes the token or anything taken from it.</summary>
    public static string Detail(AuthFailureReason reason) => reason switch
    {
        AuthFailureReason.TokenMissing => "Token não fornecido (token missing).",
        AuthFailureReason.TokenExpired => "Token expirado (token expired).",
        AuthFailureReason.TokenNotYetValid => "Token ainda não válido (token not yet valid).",
        AuthFailureReason.TokenRevoked => "Token revogado (token revoked).",
        AuthFailureReason.SessionExpired => "Sessão expirada (session expired).",
        AuthFailureReason.SessionTooLarge => "Os dados da sessão excedem o que o gateway encaminha (session data too large to forward).",
        AuthFailureReason.QueryTokenNotAllowed => "Token na query string não é aceito nesta rota (query token not allowed on this route).",
        AuthFailureReason.StoreUnavailable => "Não foi possível verificar o token agora (token store unavailable).",
        AuthFailureReason.AuthorityUnavailable => "Não foi possível verificar o token agora (identity provider unavailable).",
        _ => "Token inválido (token invalid).",
    };

    public static string Code(AuthFailureReason reason) => reason switch
    {
        AuthFailureReason.TokenMissing => "token_missing",
        AuthFailureReason.TokenExpired => "token_expired",
        AuthFailureReason.TokenNotYetValid => "token_not_yet_valid",
        AuthFailureReason.TokenRevoked => "token_revoked",
        AuthFailureReason.SessionExpired => "session_expired",
        AuthFailureReason.SessionTooLarge => "session_too_large",
        AuthFailureReason.QueryTokenNotAllowed => "query_token_not_allowed",
        AuthFailureReason.StoreUnavailable => "token_store_unavailable",
        AuthFailureReason.AuthorityUnavailable => "authority_unavailable",
        _ => "token_invalid",
    };
}

/// <summary>The validated token's id and expiry, kept for logout.</summary>
public sealed record ValidatedTokenFeature(string TokenId, DateTimeOffset Expires);
