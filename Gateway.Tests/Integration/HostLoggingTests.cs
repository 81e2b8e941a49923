using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Integration;

/// <summary>
/// Gateways hosted side by side in one process (as this suite hosts them, or an application embedding the gateway)
/// each log to their own sinks. Serilog's hosting integration otherwise routes every host's loggers through the one
/// static logger, and a host that stops closes it, whichever host it belonged to by then.
/// </summary>
public sealed class HostLoggingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gateway-host-logs-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Each_gateway_in_a_process_writes_its_access_lines_to_its_own_sinks_whatever_the_others_do()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var firstLog = Path.Combine(_directory, "first.log");
        var secondLog = Path.Combine(_directory, "second.log");
        var first = await TestGateway.StartAsync(LoggingTo(GatewayConfig.Quotes(upstream.Url), firstLog));
        await using var second = await TestGateway.StartAsync(LoggingTo(GatewayConfig.Quotes(upstream.Url), secondLog));

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

        await Poll.UntilAsync(() => Logged(firstLog, fromFirst) && Logged(secondLog, before) && Logged(secondLog, after),
            TimeSpan.FromSeconds(15), "each gateway's access lines in its own log");
        Logged(secondLog, fromFirst).Should().BeFalse();
        Logged(firstLog, before).Should().BeFalse();
    }

    // A file sink from configuration (Serilog's own settings), the access line's correlation id written first.
    private static GatewayConfig LoggingTo(GatewayConfig config, string path) =>
        config.LogToFile(path, "{CorrelationId} {EventId} {Message:lj}{NewLine}");

    private static async Task<string> SendAsync(TestGateway gateway)
    {
        var id = "host-" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/q-1");
        request.Headers.Add("X-Correlation-ID", id);
        using var response = await gateway.Client.SendAsync(request);
        response.IsSuccessStatusCode.Should().BeTrue();
        return id;
    }

    private static bool Logged(string path, string correlationId) =>
        LogFile.Lines(path).Any(line => line.StartsWith(correlationId, StringComparison.Ordinal) && line.Contains("AccessLog", StringComparison.Ordinal));
}
