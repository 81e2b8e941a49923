using System.Text.Json;
using System.Text.Json.Serialization;

namespace Upstreams;

internal static class ContractService
{
    public static void Map(RouteGroupBuilder group)
    {
        group.MapPost("/contracts", Create);
        group.MapGet("/contracts/{id}", (string id, SampleStore store) =>
            store.Contracts.TryGetValue(id, out var contract) ? Envelope.Ok(contract) : NotFound());
        group.MapPut("/contracts/{id}", Update);
        group.MapDelete("/contracts/{id}", (string id, SampleStore store) =>
            store.Contracts.TryRemove(id, out _) ? Results.NoContent() : NotFound());
        group.MapPost("/contracts/{id}/confirm", Confirm);
    }

    private static async Task<IResult> Create(HttpRequest request, SampleStore store)
    {
        var body = await Envelope.ReadAsync<ContractRequest>(request);
        if (body is null || string.IsNullOrWhiteSpace(body.QuoteServiceId) || string.IsNullOrWhiteSpace(body.CustomerId))
        {
            return Envelope.Error(400, "invalid_request", "quote_service_id and customer_id are required.");
        }

        var contract = new Contract
        {
            Id = Guid.NewGuid().ToString(),
            Number = store.NextContractNumber(),
            QuoteServiceId = body.QuoteServiceId,
            CustomerId = body.CustomerId,
            Type = body.Type ?? "standard",
            FreightContentStatement = body.FreightContentStatement,
        };
        store.Contracts[contract.Id] = contract;
        return Results.Created($"/contracts/{contract.Id}", new { success = true, data = contract });
    }

    private static async Task<IResult> Update(string id, HttpRequest request, SampleStore store)
    {
        if (!store.Contracts.TryGetValue(id, out var contract))
        {
            return NotFound();
        }

        if (await Envelope.ReadAsync<ContractRequest>(request) is not { } body)
        {
            return Envelope.Error(400, "invalid_request", "A JSON body is required.");
        }

        lock (contract)
        {
            contract.Type = body.Type ?? contract.Type;
            contract.FreightContentStatement = body.FreightContentStatement ?? contract.FreightContentStatement;
        }

        return Envelope.Ok(contract);
    }

    private static IResult Confirm(string id, SampleStore store)
    {
        if (!store.Contracts.TryGetValue(id, out var contract))
        {
            return NotFound();
        }

        lock (contract)
        {
            // Confirming twice keeps the first tracking code.
            contract.Status = "confirmed";
            contract.TrackingCode ??= store.NextTrackingCode();
            contract.Documents ??=
            [
                new { type = "label", url = $"/contracts/{id}/documents/label.pdf" },
                new { type = "dacte", url = $"/contracts/{id}/documents/dacte.pdf" },
            ];
        }

        return Envelope.Ok(contract);
    }

    private static IResult NotFound() => Envelope.Error(404, "not_found", "Contract not found.");

    private sealed record ContractRequest(
        [property: JsonPropertyName("quote_service_id")] string? QuoteServiceId,
        [property: JsonPropertyName("customer_id")] string? CustomerId,
        [property: JsonPropertyName("type")] string? Type,
        [property: JsonPropertyName("freightContentStatement")] JsonElement? FreightContentStatement);
}
