using System.Text.Json.Serialization;

namespace Upstreams;

internal static class QuoteService
{
    public static void Map(RouteGroupBuilder group)
    {
        group.MapPost("/quotes/calculate", Calculate);
        group.MapGet("/quotes/{id}", (string id, SampleStore store) =>
            store.Quotes.TryGetValue(id, out var quote) ? Envelope.Ok(quote) : Envelope.Error(404, "not_found", "Quote not found."));
    }

    private static async Task<IResult> Calculate(HttpRequest request, SampleStore store)
    {
        var body = await Envelope.ReadAsync<QuoteRequest>(request);
        if (body is null || string.IsNullOrWhiteSpace(body.ZipCodeStart) || string.IsNullOrWhiteSpace(body.ZipCodeEnd) || body.Volumes is not { Length: > 0 })
        {
            return Envelope.Error(400, "invalid_request", "zip_code_start, zip_code_end and at least one volume are required.");
        }

        // Deterministic prices from the shipment: weight drives the base, the declared amount adds insurance.
        var weight = body.Volumes.Sum(v => Math.Max(0, v.Quantity) * Math.Max(0, v.Weight));
        var insurance = Math.Round(Math.Max(0, body.Amount) * 0.01m, 2);
        CarrierOffer[] offers =
        [
            new("correios-pac", "Correios", "PAC", Math.Round(15m + (weight * 2.1m) + insurance, 2), 7),
            new("correios-sedex", "Correios", "SEDEX", Math.Round(25m + (weight * 3.4m) + insurance, 2), 2),
            new("jadlog-package", "Jadlog", ".Package", Math.Round(18m + (weight * 2.5m) + insurance, 2), 4),
        ];
        var quote = new Quote(Guid.NewGuid().ToString("N"), offers);
        store.Quotes[quote.QuoteId] = quote;
        return Envelope.Ok(new { quote.QuoteId, services = offers });
    }

    private sealed record Volume(int Quantity, decimal Weight, decimal Height, decimal Width, decimal Length);

    private sealed record QuoteRequest(
        [property: JsonPropertyName("zip_code_start")] string? ZipCodeStart,
        [property: JsonPropertyName("zip_code_end")] string? ZipCodeEnd,
        [property: JsonPropertyName("volumes")] Volume[]? Volumes,
        [property: JsonPropertyName("amount")] decimal Amount);
}
