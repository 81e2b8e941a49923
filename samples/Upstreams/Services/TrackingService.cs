using System.Text.Json;

namespace Upstreams;

internal static class TrackingService
{
    private static readonly string[] Progression = ["registered", "in_transit", "out_for_delivery", "delivered"];

    public static void Map(RouteGroupBuilder group)
    {
        group.MapPost("/tracking", Register);
        group.MapGet("/tracking/{code}", (string code, SampleStore store) =>
            store.Shipments.TryGetValue(code, out var shipment) ? Envelope.Ok(View(shipment)) : Envelope.Error(404, "not_found", "Tracking code not found."));
        group.MapPost("/tracking/{code}/refresh", Refresh);
        group.MapGet("/tracking/{code}/live", TrackingLive.RunAsync);
        group.MapPost("/webhooks/{carrier}", Webhook);
    }

    private static async Task<IResult> Register(HttpRequest request, SampleStore store)
    {
        var body = await Envelope.ReadAsync<JsonElement?>(request);
        if (body is not { ValueKind: JsonValueKind.Object } json || !json.TryGetProperty("trackingCode", out var code) || code.ValueKind != JsonValueKind.String)
        {
            return Envelope.Error(400, "invalid_request", "trackingCode is required.");
        }

        var contractId = json.TryGetProperty("contractId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
        var shipment = store.Shipments.GetOrAdd(code.GetString()!, c => new Shipment(c, contractId));
        return Envelope.Ok(View(shipment), StatusCodes.Status201Created);
    }

    private static IResult Refresh(string code, SampleStore store)
    {
        if (!store.Shipments.TryGetValue(code, out var shipment))
        {
            return Envelope.Error(404, "not_found", "Tracking code not found.");
        }

        lock (shipment)
        {
            var next = Math.Min(Array.IndexOf(Progression, shipment.Status) + 1, Progression.Length - 1);
            shipment.Add(new TrackingEvent(Progression[next], DateTimeOffset.UtcNow, $"Status refreshed: {Progression[next]}"));
        }

        return Envelope.Ok(View(shipment));
    }

    private static async Task<IResult> Webhook(string carrier, HttpRequest request, SampleStore store)
    {
        var body = await Envelope.ReadAsync<JsonElement?>(request);
        Shipment? shipment = null;
        if (body is { ValueKind: JsonValueKind.Object } json && json.TryGetProperty("trackingCode", out var code) && code.ValueKind == JsonValueKind.String
            && store.Shipments.TryGetValue(code.GetString()!, out shipment))
        {
            lock (shipment)
            {
                shipment.Add(new TrackingEvent(shipment.Status, DateTimeOffset.UtcNow, $"Update from {carrier}"));
            }
        }

        return Envelope.Ok(new { received = true, carrier }, StatusCodes.Status202Accepted);
    }

    internal static object View(Shipment shipment)
    {
        lock (shipment)
        {
            return new { code = shipment.Code, status = shipment.Status, contractId = shipment.ContractId, events = shipment.Events.ToArray(), url = $"/tracking/{shipment.Code}" };
        }
    }
}
