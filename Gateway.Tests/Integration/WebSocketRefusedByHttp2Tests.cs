using FluentAssertions;
using Gateway.Core.Discovery;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Polly.CircuitBreaker;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// A WebSocket route to a service whose HTTP/2 has no extended CONNECT (RFC 8441): a setting of the route, not a
/// fault of the instances, which keep serving their other requests. Each handshake gets a 502 saying so, at once;
/// none is retried, none counts against an instance's health, and none trips the cluster's breaker.
/// </summary>
public sealed class WebSocketRefusedByHttp2Tests
{
    [Fact]
    public async Task Each_handshake_gets_a_502_once_and_the_instances_stay_in_rotation_with_the_breaker_closed()
    {
        await using var first = new Http2WithoutWebSockets();
        await using var second = new Http2WithoutWebSockets();
        await using var gateway = await TestGateway.StartAsync(new GatewayConfig()
            .Route("live", "/api/v1/live/{**rest}", "grpcish", "GET")
            .Set("Gateway:Routes:live:WebSockets", true)
            .Set("Gateway:Routes:live:Retries", 3)
            .Set("Gateway:Routes:live:RetryDelay", "00:00:00.010")
            .Cluster("grpcish", first.Address, second.Address)
            .Set("Gateway:Clusters:grpcish:HttpVersion", "2")
            .Set("Gateway:Clusters:grpcish:HealthCheck:Enabled", false)
            .Set("Gateway:Clusters:grpcish:HealthCheck:UnhealthyThreshold", 1)
            .Set("Gateway:Clusters:grpcish:CircuitBreaker:Enabled", true)
            .Set("Gateway:Clusters:grpcish:CircuitBreaker:FailureRatio", 0.5)
            .Set("Gateway:Clusters:grpcish:CircuitBreaker:MinimumThroughput", 2)
            .Set("Gateway:Clusters:grpcish:CircuitBreaker:SamplingDuration", "00:00:30")
            .Set("Gateway:Clusters:grpcish:CircuitBreaker:BreakDuration", "00:00:30"));

        for (var i = 0; i < 6; i++)
        {
            using var response = await gateway.Client.SendAsync(WebSocketEcho.Handshake($"/api/v1/live/r{i}"));

            var problem = await ProblemAssertions.ShouldBeProblemAsync(response, 502);
            problem.GetProperty("detail").GetString().Should().Contain("WebSockets over HTTP/2", $"handshake {i} is refused for what it is");
            if (i == 0)
            {
                (first.Connections + second.Connections).Should().Be(1, "another instance would refuse the same way: no retry");
            }
        }

        var registry = gateway.Services.GetRequiredService<ServiceRegistry>();
        registry.Get("grpcish").Instances.Should().HaveCount(2).And.OnlyContain(instance => instance.IsSelectable, "both instances are up; they do not do WebSockets");
        registry.BreakerState("grpcish").Should().Be(CircuitState.Closed);
    }
}
