using System.Security.Claims;
using System.Text;
using FluentAssertions;
using Gateway.Core.Identity;
using Gateway.Tests.Infrastructure;
using Microsoft.IdentityModel.Tokens;
using Xunit;

namespace Gateway.Tests.Unit;

/// <summary>
/// The validated-token cache behind JwtBearer: what a hit skips (parsing and the signature), and what it never
/// skips (expiry, a key no longer trusted). Full validations are counted through the issuer validator, which
/// runs on every full validation and never on a hit.
/// </summary>
public sealed class TokenValidationCacheTests
{
    private static readonly SymmetricSecurityKey Key = new(Encoding.UTF8.GetBytes(Tokens.Secret));
    private int _fullValidations;

    [Fact]
    public async Task The_same_token_is_validated_once_and_each_caller_gets_its_own_identity()
    {
        using var handler = new CachingJsonWebTokenHandler(TimeSpan.FromMinutes(1), 100) { MapInboundClaims = false };
        var token = Tokens.Hs256();

        var first = await handler.ValidateTokenAsync(token, Parameters(Key));
        first.IsValid.Should().BeTrue();
        first.ClaimsIdentity.AddClaim(new Claim("role", "added-by-the-first-request"));
        var second = await handler.ValidateTokenAsync(token, Parameters(Key));

        second.IsValid.Should().BeTrue();
        _fullValidations.Should().Be(1, "the second call is served from the cache");
        second.ClaimsIdentity.Should().NotBeSameAs(first.ClaimsIdentity);
        second.ClaimsIdentity.FindFirst("sub")!.Value.Should().Be("user-1");
        second.ClaimsIdentity.HasClaim("role", "added-by-the-first-request").Should().BeFalse("claims added for one request stay on it");
        (await handler.ValidateTokenAsync(Tokens.Hs256(), Parameters(Key))).IsValid.Should().BeTrue();
        _fullValidations.Should().Be(2, "another token is validated in full");
    }

    [Fact]
    public async Task A_cached_token_signed_by_a_key_no_longer_trusted_is_refused()
    {
        using var handler = new CachingJsonWebTokenHandler(TimeSpan.FromMinutes(1), 100) { MapInboundClaims = false };
        var token = Tokens.Hs256();
        (await handler.ValidateTokenAsync(token, Parameters(Key))).IsValid.Should().BeTrue();

        var rotated = new SymmetricSecurityKey(Encoding.UTF8.GetBytes("another-secret-0123456789abcdef0123456789"));
        var result = await handler.ValidateTokenAsync(token, Parameters(rotated));

        result.IsValid.Should().BeFalse("the key that signed it is not among the trusted keys any more");
        result.Exception.Should().BeAssignableTo<SecurityTokenSignatureKeyNotFoundException>();
    }

    [Fact]
    public async Task No_entry_outlives_the_tokens_expiry_and_a_zero_duration_turns_the_cache_off()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        using var handler = new CachingJsonWebTokenHandler(TimeSpan.FromMinutes(10), 100, time) { MapInboundClaims = false };
        var token = Tokens.Hs256(lifetime: TimeSpan.FromMinutes(2));
        (await handler.ValidateTokenAsync(token, Parameters(Key))).IsValid.Should().BeTrue();
        (await handler.ValidateTokenAsync(token, Parameters(Key))).IsValid.Should().BeTrue();
        _fullValidations.Should().Be(1);

        time.Advance(TimeSpan.FromMinutes(3));
        await handler.ValidateTokenAsync(token, Parameters(Key));
        _fullValidations.Should().Be(2, "past the token's exp the entry is not used, whatever the cache duration");

        using var off = new CachingJsonWebTokenHandler(TimeSpan.Zero, 100) { MapInboundClaims = false };
        await off.ValidateTokenAsync(token, Parameters(Key));
        await off.ValidateTokenAsync(token, Parameters(Key));
        _fullValidations.Should().Be(4);
    }

    [Fact]
    public async Task A_refused_token_is_never_cached()
    {
        using var handler = new CachingJsonWebTokenHandler(TimeSpan.FromMinutes(1), 100) { MapInboundClaims = false };
        var forged = Tokens.Hs256(secret: "not-the-secret-0123456789abcdef0123456789");

        (await handler.ValidateTokenAsync(forged, Parameters(Key))).IsValid.Should().BeFalse();
        (await handler.ValidateTokenAsync(forged, Parameters(Key))).IsValid.Should().BeFalse();
        var wrongAudience = Tokens.Hs256(new { aud = "someone-else" });
        (await handler.ValidateTokenAsync(wrongAudience, Parameters(Key))).IsValid.Should().BeFalse();
        (await handler.ValidateTokenAsync(wrongAudience, Parameters(Key))).IsValid.Should().BeFalse();
    }

    private TokenValidationParameters Parameters(SecurityKey key) => new()
    {
        ValidIssuer = Tokens.Issuer,
        ValidAudience = Tokens.Audience,
        IssuerSigningKey = key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ClockSkew = TimeSpan.Zero,
        IssuerValidator = (issuer, _, _) =>
        {
            Interlocked.Increment(ref _fullValidations);
            return issuer;
        },
    };
}
