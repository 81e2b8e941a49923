using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Observability;

public static class GatewayProblems
{
    /// <summary>Kestrel gave up on the request's body: over the limit (413), too slow (408) or malformed (400).</summary>
    public static ValueTask WriteUnreadableBodyAsync(HttpContext context, BadHttpRequestException bad)
    {
        ArgumentNullException.ThrowIfNull(bad);
        return WriteAsync(context, bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge
            ? BodyOverLimit : "The request body could not be read.");
    }

    /// <summary>The detail of every 413 the gateway answers for its own limits.</summary>
    internal const string BodyOverLimit = "The request body exceeds this endpoint's limit.";

    private const string FrameworkTypes = "https://tools.ietf.org/html/rfc9110#section-";

    /// <summary>
    /// Fills in what every problem of the gateway carries: its title, one <c>type</c> link per status (the status's
    /// section of RFC 9110), the path, the correlation and trace ids. The writer does it for every problem it writes;
    /// one kept to be replayed (the freight flow's idempotent answers) is completed once, when it is made.
    /// </summary>
    public static void Complete(HttpContext http, ProblemDetails problem)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(problem);
        var status = problem.Status ?? StatusCodes.Status500InternalServerError;
        problem.Title ??= ReasonPhrases.GetReasonPhrase(status);
        // The framework's results (TypedResults.Problem, validation problems, the exception handler) bring their own
        // links, for the statuses they know: a client that tells problems apart by type sees one link per status.
        if (problem.Type is null || problem.Type.StartsWith(FrameworkTypes, StringComparison.Ordinal))
        {
            problem.Type = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"https://httpwg.org/specs/rfc9110.html#status.{status}");
        }

        problem.Instance ??= http.Request.Path.Value;
        problem.Extensions["correlationId"] = CorrelationId.Get(http);
        problem.Extensions["traceId"] = Activity.Current?.TraceId.ToHexString() ?? http.TraceIdentifier;
    }

    /// <summary>Writes an RFC 9457 problem through <see cref="IProblemDetailsService"/>.</summary>
    public static ValueTask WriteAsync(HttpContext context, int status, string detail, string? code = null)
    {
        var problem = new ProblemDetails { Status = status, Detail = detail };
        if (code is not null)
        {
            problem.Extensions["code"] = code;
        }

        return WriteAsync(context, problem);
    }

    /// <summary>Writes a problem with fields of its own (its status set on the response) through <see cref="IProblemDetailsService"/>.</summary>
    public static ValueTask WriteAsync(HttpContext context, ProblemDetails problem)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(problem);
        context.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = problem,
        });
    }
}

/// <summary>
/// The gateway answers every error as <c>application/problem+json</c>, whatever the client's Accept header says
/// (the framework's default writer declines for e.g. <c>Accept: text/html</c>), with one <c>type</c> link per status,
/// and always adds <c>correlationId</c> and <c>traceId</c>, with <c>X-Content-Type-Options: nosniff</c>.
/// </summary>
public sealed class GatewayProblemDetailsWriter(IOptions<ProblemDetailsOptions> problemOptions, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> jsonOptions) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var http = context.HttpContext;
        var problem = context.ProblemDetails;
        problem.Status ??= http.Response.StatusCode;
        GatewayProblems.Complete(http, problem);
        problemOptions.Value.CustomizeProblemDetails?.Invoke(context);
        // The body repeats the request's path (instance): a browser must read it as JSON and nothing else.
        http.Response.Headers.XContentTypeOptions = "nosniff";

        return new ValueTask(http.Response.WriteAsJsonAsync(problem, problem.GetType(), jsonOptions.Value.SerializerOptions, "application/problem+json", http.RequestAborted));
    }
}
