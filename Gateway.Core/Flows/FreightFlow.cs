using System.Diagnostics;
using Gateway.Core.Observability;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Flows;

/// <summary>How a flow ended: a response, no service to pick (422), or a failed step (502) with the ids already created.</summary>
public sealed record FlowOutcome(string FlowId, FreightFlowResponse? Response, string? NoServiceReason, FlowStepException? Failure, IReadOnlyDictionary<string, string> Created);

/// <summary>
/// SmartEnvios' freight flow: quote → pick a service → create the contract → confirm it → register tracking. Each
/// step is a span and a log event carrying the flow id; a failure names its step and everything created before it.
/// </summary>
public sealed partial class FreightFlow(
    QuoteServiceClient quotes,
    ContractServiceClient contracts,
    TrackingServiceClient tracking,
    FreightFlowConfig config,
    ILogger<FreightFlow> logger)
{
    public async Task<FlowOutcome> RunAsync(FreightFlowRequest request, string correlationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var flowId = Guid.NewGuid().ToString("N");
        var created = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            var services = await StepAsync(flowId, "quote", () => quotes.CalculateAsync(request.Quote, correlationId, cancellationToken));
            if (Select(services, request) is not { } selected)
            {
                var reason = services.Count == 0
                    ? "The quote service offered no carrier service for this shipment."
                    : $"No offered service matches the request ({request.ServiceId ?? request.Selection}).";
                FlowLog.NoService(logger, flowId, reason);
                return new FlowOutcome(flowId, null, reason, null, created);
            }

            var contract = await StepAsync(flowId, "contract", () => contracts.CreateAsync(request, selected.ServiceId, correlationId, cancellationToken));
            created["contractId"] = contract.Id;
            var confirmed = await StepAsync(flowId, "confirm", () => contracts.ConfirmAsync(contract.Id, correlationId, cancellationToken));
            if (string.IsNullOrEmpty(confirmed.TrackingCode))
            {
                throw new FlowStepException("confirm", "The confirm step failed: the contract service returned no tracking code.");
            }

            created["trackingCode"] = confirmed.TrackingCode;
            var registered = await StepAsync(flowId, "tracking", () => tracking.RegisterAsync(confirmed.TrackingCode, contract.Id, correlationId, cancellationToken));
            var code = registered.Code ?? confirmed.TrackingCode;

            var response = new FreightFlowResponse(
                flowId,
                new FlowQuote(services, selected),
                new FlowContract(contract.Id, confirmed.Number ?? contract.Number, confirmed.Status, confirmed.TrackingCode),
                new FlowTracking(code, registered.Status, config.TrackingUrlBase + Uri.EscapeDataString(code)),
                confirmed.Documents ?? []);
            FlowLog.Completed(logger, flowId, contract.Id, code);
            return new FlowOutcome(flowId, response, null, null, created);
        }
        catch (FlowStepException failure)
        {
            return new FlowOutcome(flowId, null, null, failure, created);
        }
    }

    /// <summary>An explicit serviceId wins; otherwise the cheapest or the fastest (ties broken by the other).</summary>
    public static CarrierService? Select(IReadOnlyList<CarrierService> services, FreightFlowRequest request)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(request);
        if (!string.IsNullOrWhiteSpace(request.ServiceId))
        {
            return services.FirstOrDefault(s => s.ServiceId.Equals(request.ServiceId, StringComparison.OrdinalIgnoreCase));
        }

        return string.Equals(request.Selection, "fastest", StringComparison.OrdinalIgnoreCase)
            ? services.OrderBy(s => s.DeliveryDays).ThenBy(s => s.Price).FirstOrDefault()
            : services.OrderBy(s => s.Price).ThenBy(s => s.DeliveryDays).FirstOrDefault();
    }

    private async Task<T> StepAsync<T>(string flowId, string step, Func<Task<T>> run)
    {
        using var activity = GatewayTelemetry.Source.StartActivity("flow." + step);
        activity?.SetTag("flow.id", flowId);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await run();
            var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            FlowLog.StepCompleted(logger, flowId, step, elapsedMs);
            return result;
        }
        catch (FlowStepException ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            FlowLog.StepFailed(logger, flowId, step, ex.Message);
            throw;
        }
    }

    private static partial class FlowLog
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Flow {FlowId} step {Step} completed in {ElapsedMs} ms")]
        public static partial void StepCompleted(ILogger logger, string flowId, string step, double elapsedMs);

        [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Flow {FlowId} step {Step} failed: {Reason}")]
        public static partial void StepFailed(ILogger logger, string flowId, string step, string reason);

        [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Flow {FlowId}: no service to contract: {Reason}")]
        public static partial void NoService(ILogger logger, string flowId, string reason);

        [LoggerMessage(EventId = 6004, Level = LogLevel.Information, Message = "Flow {FlowId} completed: contract {ContractId}, tracking {TrackingCode}")]
        public static partial void Completed(ILogger logger, string flowId, string contractId, string trackingCode);
    }
}
