using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using FluentValidation;
using Gateway.Core.Flows;
using Gateway.Core.Forwarding;
using Gateway.Core.Identity;
using Gateway.Core.Observability;
using Gateway.Core.RateLimiting;
using Gateway.Core.Routing;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Gateway.Api.Flows;

/// <summary>
/// <c>POST /api/v1/flows/freight</c> (authenticated, <c>Idempotency-Key</c> required). The body is read up to a
/// cap, validated, then the flow runs once per key: a repeat with the same body replays the stored answer without
/// calling any service, a different body gets 422, and a repeat while the first still runs gets 409.
/// </summary>
public static class FreightFlowEndpoint
{
    public const string Path = GatewayPaths.FreightFlow;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void MapFreightFlow(this IEndpointRouteBuilder endpoints)
    {
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<GatewayOptions>>().Value;
        var flow = options.Flows.Freight;
        string[] clusters = [flow.QuoteCluster, flow.ContractCluster, flow.TrackingCluster];
        if (!flow.Enabled || !clusters.All(options.Clusters.ContainsKey))
        {
            return;
        }

        endpoints.MapPost(Path, HandleAsync)
            .RequireAuthorization(GatewayIdentityServiceCollectionExtensions.AuthenticatedPolicy)
            .WithMetadata(new BodyLimit(flow.MaxRequestBodySize), new RateLimitPolicyMetadata(null, "freight-flow"))
            .WithDisplayName("freight flow");
    }

    private const string IdempotencyStoreName = "idempotency";

    private static async Task HandleAsync(HttpContext context, FreightFlow flow, IIdempotencyStore idempotency,
        IValidator<FreightFlowRequest> validator, FreightFlowConfig config, Gateway.Core.Storage.StoreHealth storeHealth)
    {
        var key = context.Request.Headers[HeaderRules.IdempotencyKey].ToString();
        if (!HeaderRules.IsSaneToken(key))
        {
            await GatewayProblems.WriteAsync(context, StatusCodes.Status400BadRequest, "An Idempotency-Key header (1-128 visible characters) is required.", "idempotency_key_required");
            return;
        }

        if (!RouteBodyValidation.IsJsonOrAbsent(context.Request))
        {
            await RouteBodyValidation.WriteUnsupportedMediaTypeAsync(context);
            return;
        }

        if (await ReadBodyAsync(context) is not { } body)
        {
            return;
        }

        FreightFlowRequest? request;
        try
        {
            request = body.Length == 0 ? null : RouteBodyValidation.Deserialize<FreightFlowRequest>(body);
        }
        catch (JsonException ex)
        {
            await GatewayProblems.WriteAsync(context, StatusCodes.Status400BadRequest, $"The body is not valid JSON for this endpoint (at {ex.Path ?? "$"}).", "malformed_json");
            return;
        }

        if (request is null)
        {
            await GatewayProblems.WriteAsync(context, StatusCodes.Status400BadRequest, "A JSON body is required.", "body_required");
            return;
        }

        var validation = await validator.ValidateAsync(request, context.RequestAborted);
        if (!validation.IsValid)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new HttpValidationProblemDetails(validation.ToDictionary()) { Status = StatusCodes.Status400BadRequest },
            });
            return;
        }

        // Keys are per user: one customer's key never collides with another's. The subject's length leads, since a
        // key may hold ':' too: subject "a" with key "b:c" and subject "a:b" with key "c" would otherwise meet.
        var subject = context.User.FindFirst("sub")?.Value ?? "-";
        var scopedKey = string.Create(CultureInfo.InvariantCulture, $"{subject.Length}:{subject}:{key}");
        var hash = Convert.ToHexStringLower(SHA256.HashData(body));
        IdempotencyClaim claim;
        try
        {
            claim = await idempotency.TryBeginAsync(scopedKey, hash, config.RunningTtl, context.RequestAborted);
            storeHealth.Succeeded(IdempotencyStoreName);
        }
        catch (Exception ex) when (Gateway.Core.Storage.StoreHealth.IsFailure(ex, context.RequestAborted))
        {
            // Refused rather than run unclaimed: a client retrying a flow nobody recorded would create a second contract.
            storeHealth.Failed(IdempotencyStoreName, ex);
            context.Response.Headers.RetryAfter = "5";
            await GatewayProblems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
                "The Idempotency-Key cannot be checked now, so the flow was not started; retry with the same key.", "idempotency_store_unavailable");
            return;
        }

        switch (claim.State)
        {
            case IdempotencyState.InProgress:
                await GatewayProblems.WriteAsync(context, StatusCodes.Status409Conflict, "A request with this Idempotency-Key is still being processed.", "idempotency_in_progress");
                return;
            case IdempotencyState.Mismatch:
                await GatewayProblems.WriteAsync(context, StatusCodes.Status422UnprocessableEntity, "This Idempotency-Key was used with a different request body.", "idempotency_key_reused");
                return;
            case IdempotencyState.Completed:
                context.Response.Headers["Idempotent-Replayed"] = "true";
                await WriteAsync(context, claim.Response!);
                return;
        }

        var outcome = await flow.RunAsync(request, CorrelationId.Get(context), context.RequestAborted);
        var response = ToResponse(context, outcome);
        try
        {
            if (outcome.Failure is not null && outcome.Created.Count == 0)
            {
                // Nothing was created: let the client retry with the same key.
                await idempotency.ReleaseAsync(scopedKey, CancellationToken.None);
            }
            else
            {
                await idempotency.CompleteAsync(scopedKey, hash, response, config.IdempotencyTtl, CancellationToken.None);
            }
        }
        catch (Exception ex) when (Gateway.Core.Storage.StoreHealth.IsFailure(ex, CancellationToken.None))
        {
            // The flow ran: its answer goes out whatever the store did. The claim expires after RunningTtl; until then
            // the same key is answered 409, not run twice.
            storeHealth.Failed(IdempotencyStoreName, ex);
        }

        await WriteAsync(context, response);
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpContext context)
    {
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            return buffer.ToArray();
        }
        catch (BadHttpRequestException bad)
        {
            await GatewayProblems.WriteUnreadableBodyAsync(context, bad);
            return null;
        }
    }

    private static StoredResponse ToResponse(HttpContext context, FlowOutcome outcome)
    {
        if (outcome.Response is { } success)
        {
            return new StoredResponse(StatusCodes.Status200OK, JsonSerializer.Serialize(success, Json));
        }

        var problem = outcome.Failure is { } failure
            ? new ProblemDetails { Status = StatusCodes.Status502BadGateway, Detail = failure.Message }
            : new ProblemDetails { Status = StatusCodes.Status422UnprocessableEntity, Detail = outcome.NoServiceReason };
        // Completed here, not by the problem writer, because the answer is kept for the idempotency key's replays.
        GatewayProblems.Complete(context, problem);
        problem.Extensions["flowId"] = outcome.FlowId;
        if (outcome.Failure is { } step)
        {
            problem.Extensions["step"] = step.Step;
            problem.Extensions["upstreamStatus"] = step.UpstreamStatus;
        }

        problem.Extensions["created"] = outcome.Created;
        return new StoredResponse(problem.Status!.Value, JsonSerializer.Serialize(problem, Json));
    }

    private static Task WriteAsync(HttpContext context, StoredResponse response)
    {
        context.Response.StatusCode = response.Status;
        context.Response.ContentType = response.Status >= 400 ? "application/problem+json" : "application/json";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        return context.Response.WriteAsync(response.Body);
    }

    private sealed record BodyLimit(long? MaxRequestBodySize) : IRequestSizeLimitMetadata;
}
