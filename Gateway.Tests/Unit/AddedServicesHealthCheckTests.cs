using FluentAssertions;
using Gateway.Core.Discovery;
using Gateway.Core.Observability.Health;
using Gateway.Core.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;

namespace Gateway.Tests.Unit;

public sealed class AddedServicesHealthCheckTests
{
    [Fact]
    public async Task Services_added_after_the_start_are_reported_each_and_only_a_required_one_down_makes_it_unhealthy()
    {
        var registry = new ServiceRegistry(new FixedOptions(new GatewayOptions { Clusters = { ["start"] = Cluster(required: true) } }), NullLogger<ServiceRegistry>.Instance);
        registry.AddNew(new GatewayOptions { Clusters = { ["start"] = Cluster(required: true), ["optional"] = Cluster(required: false), ["required"] = Cluster(required: true) } })
            .Should().Equal("optional", "required");
        var check = new AddedServicesHealthCheck(registry, new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "start" });

        (await CheckAsync(check)).Status.Should().Be(HealthStatus.Healthy);

        TakeDown(registry.Get("optional"));
        var result = await CheckAsync(check);
        result.Status.Should().Be(HealthStatus.Degraded, "an optional service down degrades, as its own check would");
        result.Data.Keys.Should().BeEquivalentTo(["optional", "required"], "the services of the start have checks of their own");
        ((HealthCheckResult)result.Data["optional"]).Status.Should().Be(HealthStatus.Degraded);

        TakeDown(registry.Get("required"));
        (await CheckAsync(check)).Status.Should().Be(HealthStatus.Unhealthy);
    }

    private static ClusterConfig Cluster(bool required) => new()
    {
        Required = required,
        Destinations = new() { ["one"] = new DestinationConfig { Address = "http://127.0.0.1:1" } },
    };

    private static void TakeDown(ServiceCluster cluster)
    {
        foreach (var instance in cluster.Instances)
        {
            instance.Record(false, unhealthyThreshold: 1, healthyThreshold: 1, isProbe: true);
        }
    }

    private static Task<HealthCheckResult> CheckAsync(AddedServicesHealthCheck check) =>
        check.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration("services-added", check, HealthStatus.Unhealthy, null) });

    private sealed class FixedOptions(GatewayOptions value) : IOptionsMonitor<GatewayOptions>
    {
        public GatewayOptions CurrentValue => value;

        public GatewayOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<GatewayOptions, string?> listener) => null;
    }
}
