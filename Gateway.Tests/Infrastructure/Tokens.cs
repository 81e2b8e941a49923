using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Gateway.Tests.Infrastructure;

/// <summary>HS256 tokens as SmartEnvios' services mint them (and deliberately broken ones for the bad-token corpus).</summary>
public static class Tokens
{
    public const string Secret = "test-secret-0123456789abcdef0123456789abcdef";
    public const string Issuer = "smartenvios";
    public const string Audience = "smartenvios-api";

    public static string Hs256(object? extraClaims = null, string secret = Secret, string alg = "HS256", TimeSpan? lifetime = null, DateTimeOffset? notBefore = null,
        string? kid = null, string[]? without = null)
    {
        var now = DateTimeOffset.UtcNow;
        var claims = new Dictionary<string, object?>
        {
            ["iss"] = Issuer,
            ["aud"] = Audience,
            ["sub"] = "user-1",
            ["iat"] = (notBefore ?? now).ToUnixTimeSeconds(),
            ["nbf"] = (notBefore ?? now).ToUnixTimeSeconds(),
            ["exp"] = ((notBefore ?? now) + (lifetime ?? TimeSpan.FromHours(1))).ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
        foreach (var name in without ?? [])
        {
            claims.Remove(name);
        }

        if (extraClaims is not null)
        {
            foreach (var property in JsonSerializer.SerializeToElement(extraClaims).EnumerateObject())
            {
                claims[property.Name] = property.Value;
            }
        }

        var header = Base64Url(kid is null
            ? JsonSerializer.SerializeToUtf8Bytes(new { alg, typ = "JWT" })
            : JsonSerializer.SerializeToUtf8Bytes(new { alg, typ = "JWT", kid }));
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = alg == "none" ? string.Empty : Base64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(header + "." + payload)));
        return $"{header}.{payload}.{signature}";
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Auth settings for a gateway that accepts <see cref="Hs256"/> tokens.</summary>
    public static GatewayConfig WithSharedSecret(this GatewayConfig config) => config
        .Set("Gateway:Auth:SigningKey", Secret)
        .Set("Gateway:Auth:Issuer", Issuer)
        .Set("Gateway:Auth:Audience", Audience)
        .Set("Gateway:Auth:ClockSkew", "00:00:00");
}
