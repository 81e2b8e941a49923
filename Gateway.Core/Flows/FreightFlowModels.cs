using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.Core.Flows;

/// <summary>One package of a shipment; dimensions in centimetres, weight in kilograms.</summary>
public sealed record Volume(
    [property: JsonPropertyName("quantity")] int Quantity,
    [property: JsonPropertyName("weight")] decimal Weight,
    [property: JsonPropertyName("height")] decimal Height,
    [property: JsonPropertyName("width")] decimal Width,
    [property: JsonPropertyName("length")] decimal Length);

/// <summary>The quote service's request, validated at the gateway on routes that opt in.</summary>
public sealed record QuoteRequest(
    [property: JsonPropertyName("zip_code_start")] string? ZipCodeStart,
    [property: JsonPropertyName("zip_code_end")] string? ZipCodeEnd,
    [property: JsonPropertyName("volumes")] IReadOnlyList<Volume>? Volumes,
    [property: JsonPropertyName("amount")] decimal? Amount);

/// <summary>
/// <c>POST /api/v1/flows/freight</c>: a quote's inputs plus who contracts and which service to pick
/// (<c>selection</c> = cheapest | fastest, or an explicit <c>serviceId</c>).
/// </summary>
public sealed record FreightFlowRequest(
    [property: JsonPropertyName("zip_code_start")] string? ZipCodeStart,
    [property: JsonPropertyName("zip_code_end")] string? ZipCodeEnd,
    [property: JsonPropertyName("volumes")] IReadOnlyList<Volume>? Volumes,
    [property: JsonPropertyName("amount")] decimal? Amount,
    [property: JsonPropertyName("customer_id")] string? CustomerId,
    [property: JsonPropertyName("selection")] string? Selection,
    [property: JsonPropertyName("serviceId")] string? ServiceId,
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("freightContentStatement")] JsonElement? FreightContentStatement)
{
    public QuoteRequest Quote => new(ZipCodeStart, ZipCodeEnd, Volumes, Amount);
}

public sealed record CarrierService(
    [property: JsonPropertyName("serviceId")] string ServiceId,
    [property: JsonPropertyName("price"), JsonPropertyOrder(3)] decimal Price,
    [property: JsonPropertyName("deliveryDays"), JsonPropertyOrder(4)] int DeliveryDays,
    // Optional, so last; written in the order the quote service sends them.
    [property: JsonPropertyName("carrier"), JsonPropertyOrder(1)] string? Carrier = null,
    [property: JsonPropertyName("name"), JsonPropertyOrder(2)] string? Name = null);

public sealed record Document(
    [property: JsonPropertyName("type")] string? Type = null,
    [property: JsonPropertyName("url")] string? Url = null);

/// <summary>The seed's <c>E2EFlowResponse</c>.</summary>
public sealed record FreightFlowResponse(
    [property: JsonPropertyName("flowId")] string FlowId,
    [property: JsonPropertyName("quote")] FlowQuote Quote,
    [property: JsonPropertyName("contract")] FlowContract Contract,
    [property: JsonPropertyName("tracking")] FlowTracking Tracking,
    [property: JsonPropertyName("documents")] IReadOnlyList<Document> Documents);

public sealed record FlowQuote(
    [property: JsonPropertyName("services")] IReadOnlyList<CarrierService> Services,
    [property: JsonPropertyName("selected")] CarrierService Selected);

public sealed record FlowContract(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("number")] string? Number,
    [property: JsonPropertyName("status")] string? Status,
    [property: JsonPropertyName("trackingCode")] string? TrackingCode);

public sealed record FlowTracking(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("status")] string? Status,
    [property: JsonPropertyName("url")] string? Url);
