using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Gateway.Core.Observability;

/// <summary>
/// The gateway's own endpoints that take a JSON body (the admin API's registrations and sessions) are bound by the
/// framework, which answers a body it cannot read with a bare 400 or 415 that says nothing of what was wrong. With
/// <c>RouteHandlerOptions.ThrowOnBadRequest</c> on, the failure arrives here as a <see cref="BadHttpRequestException"/>
/// (a body of another media type or too large excepted, see <see cref="DescribeRefusedBody"/>) and becomes a
/// problem that says what to fix: where the JSON broke, or that a value is missing. No value the client sent is
/// quoted back, and since the exception is handled the framework logs no error for it; the access line records the 4xx.
/// </summary>
internal sealed class RequestBindingProblems : IExceptionHandler
{
    private const string Code = "unreadable_request";

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || httpContext.Response.HasStarted)
        {
            return false;
        }

        await GatewayProblems.WriteAsync(httpContext, bad.StatusCode, Detail(bad), Code).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// A body of another media type, or over the size limit, is refused with a bare 415 or 413 even when bad requests
    /// throw; the status-code pages make it a problem, and this gives that problem its detail.
    /// </summary>
    public static void DescribeRefusedBody(ProblemDetailsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.ProblemDetails is { Detail: null } problem && problem.Status is StatusCodes.Status415UnsupportedMediaType or StatusCodes.Status413PayloadTooLarge)
        {
            problem.Detail = problem.Status == StatusCodes.Status415UnsupportedMediaType
                ? "The request body must be JSON (Content-Type: application/json)."
                : GatewayProblems.BodyOverLimit;
            problem.Extensions["code"] = Code;
        }
    }

    private static string Detail(BadHttpRequestException bad) => bad switch
    {
        { InnerException: JsonException { Path: { } path } } when IsPlainPath(path) => $"The request body is not valid JSON for this endpoint (at {path}).",
        { InnerException: JsonException } => "The request body is not valid JSON for this endpoint.",
        _ => "The request lacks a required value, or has one that could not be read as its type.",
    };

    /// <summary>
    /// A path such as <c>$.weight</c> names the endpoint's own fields; one holding other characters, or long, is made
    /// of property names the client invented and is not repeated.
    /// </summary>
    private static bool IsPlainPath(string path) =>
        path.Length is > 1 and <= 64 && path.StartsWith('$') && path.All(c => char.IsAsciiLetterOrDigit(c) || c is '$' or '.' or '_' or '[' or ']');
}
