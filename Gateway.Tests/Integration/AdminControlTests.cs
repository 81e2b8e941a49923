using System.Net;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// Taking an instance or a whole service out by hand through the admin API: draining an instance, isolating a
/// breaker. In the metrics collection, since they read the gauges of an in-process gateway.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class AdminControlTests
{
    [Fact]
    public async Task A_drained_instance_gets_no_new_client_keeps_its_bound_sessions_and_returns_when_undrained()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var b = await NamedUpstream.StartAsync("b");
        await using var gateway = await TestGateway.StartAsync(GatewayConfig.Quotes(a.Url, b.Url)
            .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false)
            .Set("Gateway:Clusters:quote-service:SessionAffinity:Enabled", true));
        string? boundToA = null;
        for (var i = 0; i < 4 && boundToA is null; i++)
        {
            using var response = await gateway.Client.GetAsync("/api/v1/quotes/who");
            if (await response.Content.ReadAsStringAsync() == "a")
            {
                boundToA = response.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
            }
        }

        boundToA.Should().NotBeNull("round-robin reaches a within four requests");
        using (var drained = await gateway.Client.PostAsync("/admin/services/quote-service/instances/quote-service-1/drain", content: null))
        {
            drained.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        (await gateway.GetStringsAsync("/api/v1/quotes/who", 6)).Should().AllBe("b", "a draining instance gets no new client");
        using (var bound = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/who"))
        {
            bound.Headers.Add("Cookie", boundToA);
            using var response = await gateway.Client.SendAsync(bound);
            (await response.Content.ReadAsStringAsync()).Should().Be("a", "a session bound to it ends on it");
        }

        var services = await gateway.Client.GetStringAsync("/admin/services");
        services.Should().Contain("\"id\":\"quote-service-1\"").And.Contain("\"draining\":true");
        (await gateway.Client.GetStringAsync("/health/quote-service")).Should().Contain("\"draining\":true");
        (await gateway.Client.GetStringAsync("/metrics")).Should().MatchRegex("""(?m)^gateway_upstream_instance_healthy\{[^}]*instance="quote-service-1"[^}]*\} 0\b""");

        using (var undrained = await gateway.Client.DeleteAsync("/admin/services/quote-service/instances/quote-service-1/drain"))
        {
            undrained.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        (await gateway.GetStringsAsync("/api/v1/quotes/who", 4)).Should().Contain("a", "it is back in rotation");
        using var unknown = await gateway.Client.PostAsync("/admin/services/quote-service/instances/nope/drain", content: null);
        await ProblemAssertions.ShouldBeProblemAsync(unknown, 404);
    }

    [Fact]
    public async Task An_isolated_breaker_holds_its_service_off_until_it_is_closed()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var gateway = await TestGateway.StartAsync(GatewayConfig.Quotes(a.Url)
            .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false)
            .Route("tracking", "/api/v1/tracking/{**rest}", "tracking-service", "GET").Cluster("tracking-service", a.Url)
            .Set("Gateway:Clusters:tracking-service:CircuitBreaker:Enabled", false));

        using (var isolated = await gateway.Client.PostAsync("/admin/circuit-breakers/quote-service/isolate", content: null))
        {
            isolated.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        (await gateway.Client.GetStringAsync("/admin/circuit-breakers")).Should().Contain("""{"service":"quote-service","state":"isolated"}""");
        using (var refused = await gateway.Client.GetAsync("/api/v1/quotes/held"))
        {
            (await ProblemAssertions.ShouldBeProblemAsync(refused, 503)).GetProperty("detail").GetString().Should().Contain("held off");
        }

        a.Upstream.Count("/quotes/held").Should().Be(0, "no call reaches a service held off");
        (await gateway.Client.GetStringAsync("/metrics")).Should().MatchRegex("""(?m)^gateway_circuit_breaker_state\{[^}]*service="quote-service"[^}]*\} 1\b""");

        using (var closed = await gateway.Client.DeleteAsync("/admin/circuit-breakers/quote-service/isolate"))
        {
            closed.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        (await gateway.Client.GetStringAsync("/api/v1/quotes/who")).Should().Be("a");
        (await gateway.Client.GetStringAsync("/admin/circuit-breakers")).Should().Contain("""{"service":"quote-service","state":"closed"}""");
        using var unknown = await gateway.Client.PostAsync("/admin/circuit-breakers/nope/isolate", content: null);
        await ProblemAssertions.ShouldBeProblemAsync(unknown, 404);
        using var without = await gateway.Client.PostAsync("/admin/circuit-breakers/tracking-service/isolate", content: null);
        await ProblemAssertions.ShouldBeProblemAsync(without, 409);
    }
}
