using System.Collections.Concurrent;
using System.Text.Json;

namespace Upstreams;

internal sealed record Quote(string QuoteId, IReadOnlyList<CarrierOffer> Services);

internal sealed record CarrierOffer(string ServiceId, string Carrier, string Name, decimal Price, int DeliveryDays);

internal sealed class Contract
{
    public required string Id { get; init; }

    public required string Number { get; init; }

    public string Status { get; set; } = "pending";

    public required string QuoteServiceId { get; init; }

    public required string CustomerId { get; init; }

    public string Type { get; set; } = "standard";

    public JsonElement? FreightContentStatement { get; set; }

    public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;

    public string? TrackingCode { get; set; }

    public object[]? Documents { get; set; }
}

internal sealed record TrackingEvent(string Status, DateTimeOffset At, string Description);

internal sealed class Shipment(string code, string? contractId)
{
    public string Code { get; } = code;

    public string? ContractId { get; } = contractId;

    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public List<TrackingEvent> Events { get; } = [new("registered", DateTimeOffset.UtcNow, "Shipment registered")];

    public string Status => Events[^1].Status;

    /// <summary>Completes at the next event; read under the shipment's lock, with the events it follows.</summary>
    public Task Changed => _changed.Task;

    /// <summary>Adds an event; the caller holds the shipment's lock.</summary>
    public void Add(TrackingEvent trackingEvent)
    {
        Events.Add(trackingEvent);
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.SetResult();
    }
}

/// <summary>The three services' state, in memory.</summary>
internal sealed class SampleStore
{
    private long _contractSequence;
    private long _trackingSequence;

    public ConcurrentDictionary<string, Quote> Quotes { get; } = new();

    public ConcurrentDictionary<string, Contract> Contracts { get; } = new();

    public ConcurrentDictionary<string, Shipment> Shipments { get; } = new(StringComparer.OrdinalIgnoreCase);

    public string NextContractNumber() => $"CTR-{Interlocked.Increment(ref _contractSequence):D6}";

    public string NextTrackingCode() => $"SE{Interlocked.Increment(ref _trackingSequence):D10}BR";
}
