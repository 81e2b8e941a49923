using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Integration;

/// <summary>
/// Gateways hosted side by side in one process (as this suite hosts them, or an application embedding the gateway)
/// each log to their own sinks. Serilog's hosting integration otherwise routes every host's loggers through the one
/// static logger: whichever host set it last received the others' lines, and a host that stopped silenced the rest.
/// </summary>
public sealed class HostLoggingTests
{
    [Fact]
    public async Task Each_gateway_in_a_process_sends_its_access_lines_to_its_own_receiver_whatever_the_others_do()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var firstReceiver = await OtlpReceiver.StartAsync();
        await using var secondReceiver = await OtlpReceiver.StartAsync();
        var first = await TestGateway.StartAsync(Logging(GatewayConfig.Quotes(upstream.Url), firstReceiver));
        await using var second = await TestGateway.StartAsync(Logging(GatewayConfig.Quotes(upstream.Url), secondReceiver));

        string fromFirst, before;
        try
        {
            fromFirst = await SendAsync(first);
            before = await SendAsync(second);
        }
        finally
        {
            // Stopping a host used to close the static logger, which was then the last host's: the second gateway's.
            await first.DisposeAsync();
        }

        var after = await SendAsync(second);

        await Poll.UntilAsync(() => HasAccessLine(firstReceiver, fromFirst) && HasAccessLine(secondReceiver, before) && HasAccessLine(secondReceiver, after),
            TimeSpan.FromSeconds(15), "each gateway's access lines at its own receiver");
        HasAccessLine(secondReceiver, fromFirst).Should().BeFalse();
        HasAccessLine(firstReceiver, before).Should().BeFalse();
    }

    private static GatewayConfig Logging(GatewayConfig config, OtlpReceiver receiver) => config
        .Set("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.Url).Set("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .Set("Serilog:MinimumLevel:Default", "Information");

    private static async Task<string> SendAsync(TestGateway gateway)
    {
        var id = "host-" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/q-1");
        request.Headers.Add("X-Correlation-ID", id);
        using var response = await gateway.Client.SendAsync(request);
        response.IsSuccessStatusCode.Should().BeTrue();
        return id;
    }

    private static bool HasAccessLine(OtlpReceiver receiver, string correlationId) =>
        receiver.Logs.Any(l => l.Attributes.GetValueOrDefault("CorrelationId") == correlationId && l.Attributes.ContainsKey("StatusCode"));
}
