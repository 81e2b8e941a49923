using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary><c>GET /admin/routes</c>: the running route table, with what each route does and none of its secrets.</summary>
public sealed class AdminRouteTableTests
{
    private const string SignatureSecret = "s3cret-signature-value";
    private const string HeaderSecret = "api-key-value-456";
    private const string ConditionValue = "tenant-value-789";

    [Fact]
    public async Task The_route_table_lists_every_route_as_it_runs_without_a_secret()
    {
        await using var upstream = await NamedUpstream.StartAsync("a");
        var config = GatewayConfig.Quotes(upstream.Url).WithSharedSecret()
            .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false)
            .Set("Gateway:Routes:quotes:Timeout", "00:00:08")
            .Set("Gateway:Routes:quotes:Retries", 2)
            .Route("hooks", "/api/v1/webhooks/{**rest}", "quote-service", "POST")
            .Set("Gateway:Routes:hooks:Transform:PathRemovePrefix", "/api/v1")
            .Set("Gateway:Routes:hooks:Order", -1)
            .Set("Gateway:Routes:hooks:Authorization", "Authenticated")
            .Set("Gateway:Routes:hooks:AllowedClientNetworks:0", "10.0.0.0/8")
            .Set("Gateway:Routes:hooks:Signature:Header", "X-Signature")
            .Set("Gateway:Routes:hooks:Signature:Secrets:0", SignatureSecret)
            .Set("Gateway:Routes:hooks:Headers:Request:Set:X-Api-Key", HeaderSecret)
            .Set("Gateway:Routes:hooks:MatchHeaders:0:Name", "X-Tenant")
            .Set("Gateway:Routes:hooks:MatchHeaders:0:Values:0", ConditionValue);
        await using var gateway = await TestGateway.StartAsync(config);

        var body = await gateway.Client.GetStringAsync("/admin/routes");

        body.Should().NotContainAny(SignatureSecret, HeaderSecret, ConditionValue);
        var routes = JsonDocument.Parse(body).RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("id").GetString()!);
        routes.Keys.Should().Equal("hooks", "quotes");

        var quotes = routes["quotes"];
        quotes.GetProperty("path").GetString().Should().Be("/api/v1/quotes/{**rest}");
        quotes.GetProperty("cluster").GetString().Should().Be("quote-service");
        quotes.GetProperty("upstreamPrefix").GetString().Should().Be("/quotes");
        quotes.GetProperty("authorization").GetString().Should().Be("Anonymous");
        quotes.GetProperty("timeout").GetString().Should().Be("00:00:08");
        quotes.GetProperty("retries").GetInt32().Should().Be(2);

        var hooks = routes["hooks"];
        hooks.GetProperty("methods").EnumerateArray().Select(m => m.GetString()).Should().Equal("POST");
        hooks.GetProperty("order").GetInt32().Should().Be(-1);
        hooks.GetProperty("conditions").GetInt32().Should().Be(1);
        hooks.GetProperty("authorization").GetString().Should().Be("Authenticated");
        hooks.GetProperty("signatureHeader").GetString().Should().Be("X-Signature");
        hooks.GetProperty("allowedClientNetworks").EnumerateArray().Select(n => n.GetString()).Should().Equal("10.0.0.0/8");
    }
}
