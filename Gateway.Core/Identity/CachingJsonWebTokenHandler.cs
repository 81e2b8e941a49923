using System.Security.Claims;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Core.Identity;

/// <summary>
/// JsonWebTokenHandler that remembers, for a short while, the tokens whose signature and claims it has already
/// checked: a client sends the same token on every call, and parsing and verifying it again was most of the
/// cost of an authenticated request. What a hit still honours:
/// <list type="bullet">
/// <item>lifetime: an entry never outlives the token's <c>exp</c> (then full validation applies the clock skew);</item>
/// <item>key rotation: the key that signed the token must still be one the gateway trusts (a key the authority
/// stopped publishing stops validating, cached or not);</item>
/// <item>revocation and sessions: checked per request after this handler, in <see cref="GatewayJwtEvents"/>.</item>
/// <item>forwarded claims: a token whose subject, roles or session id cannot be a header value is refused here.</item>
/// </list>
/// Only successes are cached, keyed by the whole token (signature included), in a bounded memory cache. Keycloak's
/// nested roles become role claims here, once per validation, so a hit carries them already; each request still
/// gets its own copy of the identity, which is mutable.
/// </summary>
public sealed class CachingJsonWebTokenHandler : JsonWebTokenHandler, IDisposable
{
    // A JWKS refresh brings new key objects; their thumbprints are computed once per object, not per request.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SecurityKey, byte[]> Thumbprints = [];
    private readonly MemoryCache cache;
    private readonly TimeSpan duration;
    private readonly TimeProvider time;
    private readonly string? roleClientId;
    private readonly string sessionClaim;

    /// <param name="roleClientId">Keycloak client whose roles count; null or empty = every client's.</param>
    /// <param name="sessionClaim">The claim holding the session id, which goes upstream as a header like the subject and roles.</param>
    public CachingJsonWebTokenHandler(TimeSpan duration, int maxEntries, TimeProvider? time = null, string? roleClientId = null, string sessionClaim = "sid")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        this.duration = duration;
        this.time = time ?? TimeProvider.System;
        this.roleClientId = roleClientId;
        this.sessionClaim = sessionClaim;
        cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = maxEntries });
    }

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        ArgumentNullException.ThrowIfNull(validationParameters);
        var caching = duration > TimeSpan.Zero && !string.IsNullOrEmpty(token);
        var now = time.GetUtcNow();
        if (caching && cache.TryGetValue(token, out ValidatedToken? hit) && hit!.ValidUntil > now && IsTrusted(hit.Token.SigningKey, validationParameters))
        {
            return new TokenValidationResult
            {
                IsValid = true,
                SecurityToken = hit.Token,
                ClaimsIdentity = hit.Identity.Clone(),
                Issuer = hit.Token.Issuer,
                TokenType = hit.Token.Typ,
            };
        }

        var result = await base.ValidateTokenAsync(token, validationParameters).ConfigureAwait(false);
        if (result.IsValid && result.ClaimsIdentity is { } identity)
        {
            IdentityClaims.AddKeycloakRoles(identity, roleClientId);
            if (!ForwardableClaims(identity))
            {
                return new TokenValidationResult
                {
                    IsValid = false,
                    Exception = new SecurityTokenValidationException("A claim sent upstream as a header value cannot be sent as it is."),
                };
            }

            if (caching && result.SecurityToken is JsonWebToken { SigningKey: not null } validated)
            {
                var validUntil = new DateTimeOffset(validated.ValidTo, TimeSpan.Zero);
                var until = now + duration < validUntil ? now + duration : validUntil;
                if (until > now)
                {
                    // A copy: the caller may change the identity it was given.
                    cache.Set(token, new ValidatedToken(validated, identity.Clone(), until), new MemoryCacheEntryOptions { Size = 1, AbsoluteExpiration = until });
                }
            }
        }

        return result;
    }

    public void Dispose() => cache.Dispose();

    /// <summary>
    /// The claims that go upstream as header values (subject, roles, session id) must arrive as the gateway read
    /// them: a line break would end the header there and start one of the token's choosing; whitespace around a
    /// value is not part of a header value (RFC 9110 §5.5), so " admin" would arrive as "admin"; and a comma inside
    /// a role would split it in the X-User-Roles list ("customer,admin" arriving as two roles, one of them admin,
    /// while the gateway authorised neither). Such a token is invalid. Checked once per validation; a cache hit is a
    /// token that passed.
    /// </summary>
    private bool ForwardableClaims(ClaimsIdentity identity)
    {
        foreach (var claim in identity.Claims)
        {
            var role = claim.Type == IdentityClaims.RoleClaimType;
            if ((role || claim.Type is "sub" || claim.Type == sessionClaim) && !IsForwardable(claim.Value, listElement: role))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsForwardable(string value, bool listElement) =>
        Forwarding.HeaderRules.IsFieldValue(value)
        && (value.Length == 0 || (value[0] is not (' ' or '\t') && value[^1] is not (' ' or '\t')))
        && !(listElement && value.Contains(','));

    private static bool IsTrusted(SecurityKey signingKey, TokenValidationParameters parameters)
    {
        if (Matches(parameters.IssuerSigningKey, signingKey))
        {
            return true;
        }

        if (parameters.IssuerSigningKeys is { } keys)
        {
            foreach (var key in keys)
            {
                if (Matches(key, signingKey))
                {
                    return true;
                }
            }
        }

        return false;
    }

    // Keys fetched again from the authority are new objects with the same key id.
    private static bool Matches(SecurityKey? trusted, SecurityKey signingKey) =>
        trusted is not null && (ReferenceEquals(trusted, signingKey)
            || (!string.IsNullOrEmpty(signingKey.KeyId) && trusted.GetType() == signingKey.GetType()
                && string.Equals(trusted.KeyId, signingKey.KeyId, StringComparison.Ordinal)
                && Thumbprint(trusted).AsSpan().SequenceEqual(Thumbprint(signingKey))));

    private static byte[] Thumbprint(SecurityKey key) => Thumbprints.GetValue(key, static k => k.ComputeJwkThumbprint());

    private sealed record ValidatedToken(JsonWebToken Token, ClaimsIdentity Identity, DateTimeOffset ValidUntil);
}
