using System.Net.Http.Json;
using System.Text.Json;
using Gateway.Core.Forwarding;
using Gateway.Core.Observability;
using Gateway.Core.Routing;

namespace Gateway.Core.Flows;

/// <summary>A step of the flow that did not succeed; carries what the client should be told.</summary>
public sealed class FlowStepException(string step, string detail, int? upstreamStatus = null, Exception? inner = null)
    : Exception(detail, inner)
{
    public string Step { get; } = step;

    public int? UpstreamStatus { get; } = upstreamStatus;
}

/// <summary>
/// A typed client over a cluster's named HttpClient, so flow calls take the same registry, load balancing and
/// resilience pipeline as proxied traffic. Writes never carry a retry: the sample services do not deduplicate.
/// </summary>
public abstract class ServiceClient
{
    // A service's answer is read as strictly as the types say: a missing or null value that is neither nullable nor
    // optional is a JsonException (the step failed, 502), not a null that fails later on (a 500) or reaches the
    // next service.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };
    private readonly HttpClient _client;
    private readonly GatewayRoute _route;

    protected ServiceClient(ClusterClients clients, string clusterId, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(clients);
        _client = clients.For(clusterId);
        _route = new GatewayRoute("flow:" + clusterId, new RouteConfig { Path = "/", ClusterId = clusterId, Timeout = timeout }, new LimitsConfig());
    }

    /// <summary>Sends one call and returns the <c>data</c> of the seed's <c>{ success, data }</c> envelope.</summary>
    protected async Task<JsonElement> SendAsync(string step, HttpMethod method, string path, object? body, string correlationId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri("http://upstream.invalid" + path));
        request.Options.Set(UpstreamCall.Key, new UpstreamCall(_route, path, retryable: method == HttpMethod.Get, new ProxyRequestFeature(_route.Id, _route.ClusterId)));
        request.Headers.TryAddWithoutValidation(HeaderRules.CorrelationId, correlationId);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }

        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or Polly.ExecutionRejectedException or NoHealthyInstanceException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new FlowStepException(step, $"The {step} step failed: {Describe(ex)}.", inner: ex);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new FlowStepException(step, $"The {step} step failed: the service answered {(int)response.StatusCode}.", (int)response.StatusCode);
            }

            try
            {
                using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    // No envelope: read as the step's type, which refuses it as an unexpected shape.
                    return root.Clone();
                }

                if (root.TryGetProperty("success", out var success) && success.ValueKind == JsonValueKind.False)
                {
                    throw new FlowStepException(step, $"The {step} step failed: the service reported a failure.", (int)response.StatusCode);
                }

                return root.TryGetProperty("data", out var data) ? data.Clone() : root.Clone();
            }
            catch (JsonException ex)
            {
                throw new FlowStepException(step, $"The {step} step failed: the service's answer was not JSON.", (int)response.StatusCode, ex);
            }
        }
    }

    protected static T Read<T>(string step, JsonElement data)
    {
        try
        {
            return data.Deserialize<T>(Json) ?? throw new JsonException("null");
        }
        catch (JsonException ex)
        {
            throw new FlowStepException(step, $"The {step} step failed: the service's answer had an unexpected shape.", inner: ex);
        }
    }

    private static string Describe(Exception ex) => ex switch
    {
        NoHealthyInstanceException => "no instance of the service is available",
        Polly.CircuitBreaker.BrokenCircuitException => "the service's circuit breaker is open",
        Polly.RateLimiting.RateLimiterRejectedException => "the service has as many calls open as it takes",
        Polly.Timeout.TimeoutRejectedException or OperationCanceledException => "the service did not answer in time",
        _ => "the service could not be reached",
    };
}

public sealed class QuoteServiceClient(ClusterClients clients, FreightFlowConfig config)
    : ServiceClient(clients, config.QuoteCluster, config.StepTimeout)
{
    public async Task<IReadOnlyList<CarrierService>> CalculateAsync(QuoteRequest quote, string correlationId, CancellationToken ct)
    {
        var data = await SendAsync("quote", HttpMethod.Post, "/quotes/calculate", quote, correlationId, ct);
        return Read<QuoteData>("quote", data).Services;
    }

    // Required: an answer without a list of services is not an offer of none (the client's 422), the step failed.
    private sealed record QuoteData(IReadOnlyList<CarrierService> Services);
}

public sealed class ContractServiceClient(ClusterClients clients, FreightFlowConfig config)
    : ServiceClient(clients, config.ContractCluster, config.StepTimeout)
{
    public async Task<ContractData> CreateAsync(FreightFlowRequest request, string serviceId, string correlationId, CancellationToken ct)
    {
        var body = new Dictionary<string, object?>
        {
            ["quote_service_id"] = serviceId,
            ["customer_id"] = request.CustomerId,
            ["type"] = request.Type ?? "standard",
            ["freightContentStatement"] = request.FreightContentStatement,
        };
        return Read<ContractData>("contract", await SendAsync("contract", HttpMethod.Post, "/contracts", body, correlationId, ct));
    }

    public async Task<ContractData> ConfirmAsync(string contractId, string correlationId, CancellationToken ct) =>
        Read<ContractData>("confirm", await SendAsync("confirm", HttpMethod.Post, $"/contracts/{Uri.EscapeDataString(contractId)}/confirm", new { }, correlationId, ct));

    public sealed record ContractData(string Id, string? Number = null, string? Status = null, string? TrackingCode = null, IReadOnlyList<Document>? Documents = null);
}

public sealed class TrackingServiceClient(ClusterClients clients, FreightFlowConfig config)
    : ServiceClient(clients, config.TrackingCluster, config.StepTimeout)
{
    public async Task<TrackingData> RegisterAsync(string trackingCode, string contractId, string correlationId, CancellationToken ct) =>
        Read<TrackingData>("tracking", await SendAsync("tracking", HttpMethod.Post, "/tracking", new { trackingCode, contractId }, correlationId, ct));

    public sealed record TrackingData(string? Code = null, string? Status = null);
}
