using System.Text;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Core.Identity;

/// <summary>
/// JwtBearer from <c>Gateway:Auth</c>: an OIDC authority (discovery, JWKS; an unknown key id refreshes the keys, so
/// rotation needs no restart) or a shared HS256 secret. Issuer, audience, lifetime and signature are always
/// validated, and the algorithm allow-list keeps the two families apart (no <c>none</c>, no HS/RS confusion).
/// </summary>
public sealed class JwtBearerSetup(IOptions<GatewayOptions> gateway, GatewayJwtEvents events, CachingJsonWebTokenHandler tokenHandler)
    : IConfigureNamedOptions<JwtBearerOptions>
{
    private static readonly string[] AsymmetricAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    public void Configure(string? name, JwtBearerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (name != JwtBearerDefaults.AuthenticationScheme)
        {
            return;
        }

        var auth = gateway.Value.Auth;
        options.MapInboundClaims = false;
        options.SaveToken = false;
        options.IncludeErrorDetails = false;
        options.Events = events;
        tokenHandler.MapInboundClaims = false;
        options.TokenHandlers.Clear();
        options.TokenHandlers.Add(tokenHandler);
        var parameters = options.TokenValidationParameters;
        parameters.NameClaimType = "sub";
        parameters.RoleClaimType = IdentityClaims.RoleClaimType;
        parameters.ValidateIssuer = true;
        parameters.ValidateAudience = true;
        parameters.ValidateLifetime = true;
        parameters.RequireExpirationTime = true;
        parameters.ValidateIssuerSigningKey = true;
        parameters.RequireSignedTokens = true;
        parameters.ClockSkew = auth.ClockSkew;
        parameters.ValidAudience = auth.Audience;

        if (!string.IsNullOrWhiteSpace(auth.Authority))
        {
            options.Authority = auth.Authority;
            options.RequireHttpsMetadata = auth.RequireHttpsMetadata;
            options.RefreshOnIssuerKeyNotFound = true;
            options.RefreshInterval = auth.KeyRefreshInterval;
            parameters.ValidAlgorithms = AsymmetricAlgorithms;
            if (!string.IsNullOrWhiteSpace(auth.Issuer))
            {
                parameters.ValidIssuer = auth.Issuer;
            }
        }
        else if (!string.IsNullOrWhiteSpace(auth.SigningKey))
        {
            parameters.ValidIssuer = auth.Issuer;
            parameters.IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(auth.SigningKey));
            parameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
        }
    }

    public void Configure(JwtBearerOptions options) => Configure(Options.DefaultName, options);
}

/// <summary>
/// Runs after JwtBearer's own post-configuration has created the metadata manager: a key the authority stopped
/// publishing must stop validating. IdentityModel would otherwise fall back to its "last known good" metadata
/// for an hour, which keeps a rotated-out (perhaps compromised) key trusted. The manager is wrapped so the
/// gateway can tell a token it could not check (no keys fetched yet) from a bad one.
/// </summary>
internal sealed class JwtBearerKeyRotation : IPostConfigureOptions<JwtBearerOptions>
{
    public void PostConfigure(string? name, JwtBearerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ConfigurationManager is Microsoft.IdentityModel.Tokens.BaseConfigurationManager manager)
        {
            manager.UseLastKnownGoodConfiguration = false;
        }

        if (options.ConfigurationManager is Microsoft.IdentityModel.Protocols.ConfigurationManager<Microsoft.IdentityModel.Protocols.OpenIdConnect.OpenIdConnectConfiguration> metadata)
        {
            options.ConfigurationManager = new AuthorityConfigurationManager(metadata) { UseLastKnownGoodConfiguration = false };
        }

        options.TokenValidationParameters.ValidateWithLKG = false;
    }
}

