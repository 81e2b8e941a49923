using System.Text.Json;
using FluentValidation;
using Gateway.Core.Observability;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Core.Flows;

/// <summary>
/// Validation of a proxied request's body at the gateway, for routes that opt in (<c>Validation</c> in the route's
/// configuration). The body is read up to the route's cap (413 beyond), parsed (400 when malformed), validated
/// (400 with field errors), and only a valid body is passed on, from memory, to the upstream.
/// </summary>
public sealed class RouteBodyValidation(IValidator<QuoteRequest> quoteValidator)
{
    public const string QuoteRequestValidation = "QuoteRequest";
    public static readonly IReadOnlySet<string> Known = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { QuoteRequestValidation };
    private static readonly JsonSerializerOptions RequestJson = new(JsonSerializerDefaults.Web)
    {
        AllowDuplicateProperties = false,
        PropertyNameCaseInsensitive = false,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
    };

    /// <summary>
    /// How the gateway reads a JSON body it validates: the web defaults made strict, and a leading UTF-8 byte order
    /// mark skipped (RFC 8259 §8.1 lets a parser ignore it; the services' do). The validated body is what goes
    /// upstream, so the gateway must not read more into it than any parser behind it would: a property given twice
    /// is an error (parsers disagree on which value wins), names match exactly (<c>"AMOUNT"</c> is not
    /// <c>amount</c> to a case-sensitive service), and a number must be a JSON number (<c>"12"</c> is a string to
    /// a strict one).
    /// </summary>
    public static T? Deserialize<T>(byte[] body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var json = body.AsSpan();
        return JsonSerializer.Deserialize<T>(json.StartsWith("\uFEFF"u8) ? json[3..] : json, RequestJson);
    }

    /// <summary>True when the request may go on; otherwise the problem response has been written.</summary>
    public async Task<bool> ValidateAsync(HttpContext context, GatewayRoute route)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(route);
        if (!IsJsonOrAbsent(context.Request))
        {
            await WriteUnsupportedMediaTypeAsync(context);
            return false;
        }

        if (await Forwarding.WholeRequestBody.ReadAsync(context, route.Config.ValidationMaxBodySize) is not { } body)
        {
            return false;
        }

        QuoteRequest? request;
        try
        {
            request = body.Length == 0 ? null : Deserialize<QuoteRequest>(body);
        }
        catch (JsonException ex)
        {
            await GatewayProblems.WriteAsync(context, StatusCodes.Status400BadRequest, $"The body is not valid JSON for this route (at {ex.Path ?? "$"}).", "malformed_json");
            return false;
        }

        if (request is null)
        {
            await GatewayProblems.WriteAsync(context, StatusCodes.Status400BadRequest, "A JSON body is required.", "body_required");
            return false;
        }

        var result = await quoteValidator.ValidateAsync(request, context.RequestAborted);
        if (!result.IsValid)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new HttpValidationProblemDetails(result.ToDictionary()) { Status = StatusCodes.Status400BadRequest },
            });
            return false;
        }

        Forwarding.WholeRequestBody.Replace(context, body);
        return true;
    }

    /// <summary>
    /// A body that is there must say it is JSON. Without this check a <c>text/plain</c> body that parses passes
    /// validation and reaches the service, which refuses it (or, for the flow, is acted on as if it were JSON).
    /// </summary>
    public static bool IsJsonOrAbsent(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var hasBody = request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.ContentLength > 0;
        return !hasBody || request.HasJsonContentType();
    }

    /// <summary>415 for a body that is not JSON, before any of it is read.</summary>
    public static ValueTask WriteUnsupportedMediaTypeAsync(HttpContext context) =>
        GatewayProblems.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType,
            "The body must be JSON (Content-Type: application/json).", "unsupported_media_type");
}
