using System.Text;
using Gateway.Core.Forwarding;

namespace Gateway.Core.Routing.Validation;

/// <summary>A route's webhook signature. A secret is never quoted: it is named by its key only.</summary>
internal static class SignatureValidator
{
    /// <summary>Below this an HMAC secret can be searched for; 32 random bytes is what senders issue.</summary>
    public const int MinimumSecretBytes = 16;

    public static void Validate(string key, WebhookSignatureConfig? signature, List<string> errors)
    {
        if (signature is null)
        {
            return;
        }

        if (!HeaderRules.IsToken(signature.Header))
        {
            errors.Add($"{key}:Header: a header name is required (letters, digits and !#$%&'*+-.^_`|~).");
        }

        if (signature.Secrets.Length == 0)
        {
            errors.Add($"{key}:Secrets: at least one secret is required.");
        }

        for (var i = 0; i < signature.Secrets.Length; i++)
        {
            if (Encoding.UTF8.GetByteCount(signature.Secrets[i] ?? string.Empty) < MinimumSecretBytes)
            {
                errors.Add($"{key}:Secrets:{i}: must be at least {MinimumSecretBytes} bytes.");
            }
        }

        if (signature.TimestampHeader is { Length: > 0 } stamp && (!HeaderRules.IsToken(stamp) || signature.Tolerance <= TimeSpan.Zero))
        {
            errors.Add($"{key}:TimestampHeader: must be a header name, with a positive Tolerance.");
        }

        if (signature.MaxBodySize < 1)
        {
            errors.Add($"{key}:MaxBodySize: must be at least 1.");
        }
    }
}
