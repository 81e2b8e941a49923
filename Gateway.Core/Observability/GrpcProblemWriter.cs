using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Gateway.Core.Observability;

/// <summary>
/// The gateway's refusals and failures on a gRPC call, answered in gRPC: a trailers-only answer (HTTP 200, the status
/// and message in its only header block, no body), as a gRPC service fails a call. A gRPC client given an HTTP error
/// status only guesses the code from it and loses the detail ("Bad gRPC response. HTTP status code: 502"); this way
/// it gets the code the gateway chose (<see cref="GrpcAnswer.CodeFor"/>) and the reason. The correlation and trace
/// ids travel as they do on every answer, in <c>X-Correlation-ID</c> and <c>X-Trace-ID</c>; headers such as
/// <c>Retry-After</c> and <c>WWW-Authenticate</c> stay. Asked before the problem+json writer.
/// </summary>
public sealed class GrpcProblemWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return GrpcAnswer.IsGrpc(context.HttpContext.Request);
    }

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.HttpContext.Response;
        var status = context.ProblemDetails.Status ?? response.StatusCode;
        var message = context.ProblemDetails.Detail ?? ReasonPhrases.GetReasonPhrase(status);

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcAnswer.ResponseContentType(context.HttpContext.Request);
        response.Headers[GrpcAnswer.StatusHeader] = GrpcAnswer.CodeFor(status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers[GrpcAnswer.MessageHeader] = GrpcAnswer.EncodeMessage(message);
        return ValueTask.CompletedTask;
    }
}
