using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// <c>/health/ready</c>: the status is for the balancer, the body for the operator asking a replica why it is out
/// of rotation. Not ready is a 503 problem naming each failing check; ready says whether anything degrades it.
/// </summary>
public sealed class ReadinessTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    private static GatewayConfig WithOptionalService(string required, string optional) => GatewayConfig.Quotes(required)
        .Cluster("reports-service", optional)
        .Set("Gateway:Clusters:reports-service:Required", false)
        .Set("Gateway:Clusters:quote-service:HealthCheck:Interval", "00:00:00.100")
        .Set("Gateway:Clusters:quote-service:HealthCheck:UnhealthyThreshold", 1)
        .Set("Gateway:Clusters:quote-service:HealthCheck:HealthyThreshold", 1)
        .Set("Gateway:Clusters:reports-service:HealthCheck:Interval", "00:00:00.100")
        .Set("Gateway:Clusters:reports-service:HealthCheck:UnhealthyThreshold", 1)
        .Set("Gateway:Clusters:reports-service:HealthCheck:HealthyThreshold", 1);

    private static async Task<(HttpStatusCode Status, JsonElement Body)> ReadyAsync(TestGateway gateway)
    {
        using var response = await gateway.Client.GetAsync("/health/ready");
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    [Fact]
    public async Task Ready_is_healthy_then_degraded_by_an_optional_service_then_a_503_problem_naming_the_required_one()
    {
        var required = await TestUpstream.StartAsync();
        await using var optional = await TestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(WithOptionalService(required.Url, optional.Url));

        await Poll.UntilAsync(async () => (await ReadyAsync(gateway)).Body.GetProperty("status").GetString() == "healthy", Deadline, "ready and healthy");
        (await ReadyAsync(gateway)).Body.TryGetProperty("checks", out _).Should().BeFalse("nothing degrades it");

        await optional.DisposeAsync();
        await Poll.UntilAsync(async () => (await ReadyAsync(gateway)).Body.GetProperty("status").GetString() == "degraded", Deadline, "the optional service to degrade it");
        var (status, degraded) = await ReadyAsync(gateway);
        status.Should().Be(HttpStatusCode.OK, "an optional service keeps the replica in rotation");
        degraded.GetProperty("checks").EnumerateObject().Select(check => check.Name).Should().Equal("service:reports-service");

        await required.DisposeAsync();
        await Poll.UntilAsync(async () => (await ReadyAsync(gateway)).Status == HttpStatusCode.ServiceUnavailable, Deadline, "the required service to fail readiness");
        using var response = await gateway.Client.GetAsync("/health/ready");
        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, 503);
        problem.GetProperty("detail").GetString().Should().Be("Not ready: service:quote-service (service 'quote-service' has no instance in rotation).");
        problem.GetProperty("code").GetString().Should().Be("not_ready");
        problem.GetProperty("checks").EnumerateObject().Select(check => check.Name).Should().Equal(["service:quote-service"], "only what fails readiness");
    }
}
