using System.Globalization;
using Gateway.Core.Observability;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Core.RateLimiting;

/// <summary>
/// The headers a limited response carries: the seed's <c>X-RateLimit-Limit/-Remaining/-Reset</c> (Reset in unix
/// seconds) for the policy closest to refusing, and the IETF draft's <c>RateLimit-Policy</c> (every policy) and
/// <c>RateLimit</c> (the binding one), e.g. <c>RateLimit-Policy: "quotes";q=100;w=60</c>, <c>RateLimit: "quotes";r=42;t=17</c>.
/// </summary>
public static class RateLimitHeaders
{
    internal static void Write(HttpResponse response, RateLimitEvaluation evaluation)
    {
        if (evaluation.Binding is not { Decision: { } decision } binding)
        {
            return;
        }

        var headers = response.Headers;
        var resetSeconds = Seconds(decision.ResetAfter);
        headers["X-RateLimit-Limit"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + resetSeconds).ToString(CultureInfo.InvariantCulture);

        headers["RateLimit-Policy"] = evaluation.Checks.Count == 1
            ? binding.PolicyHeaderItem
            : string.Join(", ", evaluation.Checks.Where(check => check.Decision is not null).Select(check => check.PolicyHeaderItem));
        headers["RateLimit"] = string.Create(CultureInfo.InvariantCulture, $"\"{binding.PolicyName}\";r={decision.Remaining};t={resetSeconds}");
    }

    /// <summary>The middleware's OnRejected: 429 (or 503 when a fail-closed store is down) as problem+json.</summary>
    public static async ValueTask OnRejected(OnRejectedContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var http = context.HttpContext;
        if (context.Lease is not GatewayRateLimitLease { Evaluation: { } evaluation } lease)
        {
            await GatewayProblems.WriteAsync(http, StatusCodes.Status429TooManyRequests, "Too many requests.");
            return;
        }

        if (lease.StoreUnavailable)
        {
            http.Response.Headers.RetryAfter = "5";
            await GatewayProblems.WriteAsync(http, StatusCodes.Status503ServiceUnavailable, "The rate limiter cannot decide right now; try again shortly.", "rate_limit_store_unavailable");
            return;
        }

        var denied = evaluation.Denied!;
        var retryAfter = Math.Max(1, Seconds(denied.Decision!.Value.RetryAfter));
        http.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        Write(http.Response, evaluation);
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status429TooManyRequests,
            Title = "Too Many Requests",
            Detail = $"Rate limit '{denied.PolicyName}' of {denied.Policy.PermitLimit} requests per {Seconds(denied.Policy.Window)} s reached.",
        };
        problem.Extensions["retryAfter"] = retryAfter;
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem });
    }

    /// <summary>One policy's item of <c>RateLimit-Policy</c>, e.g. <c>"quotes";q=100;w=60</c>.</summary>
    internal static string PolicyItem(string name, RateLimitPolicyConfig policy) =>
        string.Create(CultureInfo.InvariantCulture, $"\"{name}\";q={policy.PermitLimit};w={Seconds(policy.Window)}");

    private static long Seconds(TimeSpan value) => (long)Math.Ceiling(Math.Max(0, value.TotalSeconds));
}
