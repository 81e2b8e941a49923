using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>How the access lines leave for the collector under load.</summary>
public sealed class OtlpLogExportTests
{
    private const int Requests = 300;

    [Fact]
    public async Task A_burst_of_access_lines_leaves_in_exports_of_at_most_a_hundred_records_and_none_is_lost()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.Quotes(upstream.Url), receiver.ExporterEnvironment());

        // Faster than the sink's two-second buffering, so the records wait for export together.
        await Parallel.ForAsync(0, Requests, new ParallelOptions { MaxDegreeOfParallelism = 10 }, async (i, cancellation) =>
        {
            using var response = await gateway.Client.GetAsync($"/api/v1/quotes/burst-{i}", cancellation);
            response.EnsureSuccessStatusCode();
        });

        static bool IsBurstLine(ReceivedLog log) => log.Attributes.TryGetValue("Path", out var path) && path.StartsWith("/api/v1/quotes/burst-", StringComparison.Ordinal);
        await Poll.UntilAsync(() => receiver.Logs.Count(IsBurstLine) >= Requests, TimeSpan.FromSeconds(40), "every access line of the burst over OTLP");

        receiver.Logs.Where(IsBurstLine).Select(log => log.Attributes["Path"]).Should().OnlyHaveUniqueItems();
        // An export is serialised into one array: a hundred records keep it off the large object heap.
        receiver.LogExportSizes.Should().OnlyContain(records => records <= 100);
        receiver.LogExportSizes.Should().Contain(records => records > 1, "records are batched, not sent one by one");
    }
}
