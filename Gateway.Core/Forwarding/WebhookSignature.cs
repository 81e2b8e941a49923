using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Forwarding;

public enum SignatureAlgorithm
{
    HmacSha256,
    HmacSha512,
}

public enum SignatureEncoding
{
    Hex,
    Base64,
}

/// <summary>
/// A route's webhook signature (<see cref="RouteConfig.Signature"/>): the sender signs the body with a shared secret
/// (HMAC, as GitHub, Stripe and most carriers do), and only a body whose signature matches reaches the upstream.
/// </summary>
public sealed record WebhookSignatureConfig
{
    /// <summary>The header carrying the signature, e.g. <c>X-Signature</c>.</summary>
    public string? Header { get; init; }

    /// <summary>Stripped from the header's value when present, e.g. <c>sha256=</c>.</summary>
    public string? Prefix { get; init; }

    /// <summary>The shared secrets; a signature made with any of them passes, so a secret can be rotated without a gap.</summary>
    public string[] Secrets { get; init; } = [];

    public SignatureAlgorithm Algorithm { get; init; } = SignatureAlgorithm.HmacSha256;

    public SignatureEncoding Encoding { get; init; } = SignatureEncoding.Hex;

    /// <summary>
    /// A header with the signing time in Unix seconds; when set, the signed content is <c>{timestamp}.{body}</c>
    /// (Stripe's scheme) and a request signed longer than <see cref="Tolerance"/> ago, or ahead, is refused.
    /// </summary>
    public string? TimestampHeader { get; init; }

    public TimeSpan Tolerance { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Most bytes of body read to check the signature; over it → 413.</summary>
    public long MaxBodySize { get; init; } = 1024 * 1024;
}

/// <summary>Checks a route's webhook signature before anything of the request is forwarded.</summary>
public sealed class WebhookSignatures(TimeProvider time, Flows.IIdempotencyStore claims, ILogger<WebhookSignatures> logger)
{
    /// <summary>True when the request may go on, its body then read from memory; otherwise the problem is written.</summary>
    public async Task<bool> VerifyAsync(HttpContext context, GatewayRoute route)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(route);
        var config = route.Config.Signature!;
        if (!context.Request.Headers.TryGetValue(config.Header!, out var values) || values.Count != 1 || Decode(values[0], config) is not { } presented)
        {
            return await RefuseAsync(context, route, $"The request needs one signature in {config.Header}.");
        }

        string? stamp = null;
        if (config.TimestampHeader is { Length: > 0 } timestampHeader)
        {
            stamp = context.Request.Headers[timestampHeader].ToString();
            if (!long.TryParse(stamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                || Math.Abs(time.GetUtcNow().ToUnixTimeSeconds() - seconds) > config.Tolerance.TotalSeconds)
            {
                return await RefuseAsync(context, route, $"The request's {timestampHeader} is missing, or further than {config.Tolerance.TotalSeconds:0} s from now.");
            }
        }

        if (await WholeRequestBody.ReadAsync(context, config.MaxBodySize) is not { } body)
        {
            return false;
        }

        if (!Matches(config, stamp, body, presented))
        {
            return await RefuseAsync(context, route, "The request's signature does not match its body.");
        }

        // A signed timestamp bounds a replay to the tolerance; remembering the signatures for twice as long closes it.
        if (stamp is not null && !await FirstUseAsync(context, route, presented, config.Tolerance * 2))
        {
            return false;
        }

        WholeRequestBody.Replace(context, body);
        return true;
    }

    internal static bool Matches(WebhookSignatureConfig config, string? stamp, byte[] body, byte[] presented)
    {
        var content = stamp is null ? body : [.. Encoding.UTF8.GetBytes(stamp + "."), .. body];
        foreach (var secret in config.Secrets)
        {
            var key = Encoding.UTF8.GetBytes(secret);
            var expected = config.Algorithm == SignatureAlgorithm.HmacSha512 ? HMACSHA512.HashData(key, content) : HMACSHA256.HashData(key, content);
            if (CryptographicOperations.FixedTimeEquals(expected, presented))
            {
                return true;
            }
        }

        return false;
    }

    private static byte[]? Decode(string? value, WebhookSignatureConfig config)
    {
        var text = value.AsSpan().Trim();
        if (config.Prefix is { Length: > 0 } prefix && text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            text = text[prefix.Length..];
        }

        try
        {
            return config.Encoding == SignatureEncoding.Base64 ? Convert.FromBase64String(text.ToString()) : Convert.FromHexString(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private async Task<bool> FirstUseAsync(HttpContext context, GatewayRoute route, byte[] signature, TimeSpan remember)
    {
        bool first;
        try
        {
            // The flow's idempotency keys already do this, in Redis for every replica: the first claim of a key wins
            // until it expires. A signature is claimed and never completed; the claim is the memory.
            var claim = await claims.TryBeginAsync($"webhook:{route.Id}:{Convert.ToHexStringLower(signature)}", string.Empty, remember, context.RequestAborted);
            first = claim.State == Flows.IdempotencyState.Started;
        }
        catch (Exception ex) when (Storage.StoreHealth.IsFailure(ex, context.RequestAborted))
        {
            // Without the store a replay cannot be told from a first delivery; senders retry a 503.
            ForwarderLog.Refused(logger, route.Id, "the replay store is unreachable");
            await GatewayProblems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "The gateway cannot check this request for replays now; try again.");
            return false;
        }

        return first || await RefuseAsync(context, route, "This signature has been used already.");
    }

    private async Task<bool> RefuseAsync(HttpContext context, GatewayRoute route, string detail)
    {
        ForwarderLog.Refused(logger, route.Id, detail);
        await GatewayProblems.WriteAsync(context, StatusCodes.Status401Unauthorized, detail, "signature_invalid");
        return false;
    }
}
