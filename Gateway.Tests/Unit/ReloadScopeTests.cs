using Gateway.Core.Discovery;
using Gateway.Core.Routing;
using Gateway.Core.Routing.Validation;
using Microsoft.Extensions.Configuration;

namespace Gateway.Tests.Unit;

public sealed class ReloadScopeTests
{
    private static readonly Dictionary<string, string?> Started = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Gateway:Routes:quotes:Path"] = "/api/v1/quotes/{**rest}",
        ["Gateway:Routes:quotes:ClusterId"] = "quote-service",
        ["Gateway:Routes:quotes:Methods:0"] = "GET",
        ["Gateway:Clusters:quote-service:Destinations:q1:Address"] = "http://127.0.0.1:5101",
        ["Gateway:Clusters:quote-service:CircuitBreaker:FailureRatio"] = "0.5",
        ["Gateway:Auth:Authority"] = "https://id.example",
    };

    [Theory]
    [InlineData("Gateway:Clusters:quote-service:Destinations:q1:Address", "http://127.0.0.1:5109")]
    [InlineData("Gateway:Clusters:quote-service:Destinations:q2:Address", "http://127.0.0.1:5102")]
    [InlineData("Gateway:Clusters:quote-service:HealthCheck:Interval", "00:00:02")]
    [InlineData("Gateway:Clusters:quote-service:LoadBalancingPolicy", "PowerOfTwoChoices")]
    [InlineData("Gateway:Clusters:quote-service:SessionAffinity:Enabled", "true")]
    [InlineData("Gateway:Clusters:quote-service:HttpVersion", "2")]
    [InlineData("Gateway:Clusters:quote-service:CircuitBreaker:FailureRatio", "0.9")]
    [InlineData("Gateway:Clusters:quote-service:RetryBudget:Ratio", "0.5")]
    [InlineData("Gateway:Clusters:quote-service:MaxConcurrentRequests", "100")]
    [InlineData("Gateway:Clusters:quote-service:MaxQueuedRequests", "10")]
    [InlineData("Gateway:Clusters:quote-service:Required", "false")]
    [InlineData("Gateway:Clusters:quote-service:HttpClient:MaxConnectionsPerServer", "8")]
    [InlineData("Gateway:Clusters:tracking-service:Destinations:t1:Address", "http://127.0.0.1:5102")]
    [InlineData("Gateway:Clusters:tracking-service:CircuitBreaker:Enabled", "false")]
    public void What_a_kept_cluster_reads_per_request_or_probe_is_followed_and_an_added_cluster_whole(string key, string value)
    {
        ReloadScope.RestartNeeded(Started, With(key, value)).Should().BeEmpty();
    }

    [Theory]
    [InlineData("Gateway:Routes:quotes:Methods:1", "POST", "Gateway:Routes:quotes")]
    [InlineData("Gateway:Routes:tracking:Path", "/api/v1/tracking/{**rest}", "Gateway:Routes:tracking")]
    [InlineData("Gateway:Auth:Authority", "https://other.example", "Gateway:Auth")]
    [InlineData("Gateway:Limits:MaxRequestBodySize", "1000", "Gateway:Limits")]
    public void Anything_else_a_reload_changes_is_named_as_waiting_for_the_next_start(string key, string value, string setting)
    {
        ReloadScope.RestartNeeded(Started, With(key, value)).Should().Equal(setting);
    }

    [Fact]
    public void A_removed_value_counts_and_a_removed_cluster_is_named_whole()
    {
        var after = new Dictionary<string, string?>(Started, StringComparer.OrdinalIgnoreCase);
        after.Remove("Gateway:Routes:quotes:Methods:0");
        after.Remove("Gateway:Clusters:quote-service:Destinations:q1:Address");
        after.Remove("Gateway:Clusters:quote-service:CircuitBreaker:FailureRatio");

        ReloadScope.RestartNeeded(Started, after).Should().Equal("Gateway:Clusters:quote-service", "Gateway:Routes:quotes");
    }

    [Fact]
    public void A_snapshot_holds_the_gateway_sections_values_only()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Routes:quotes:Path"] = "/q/{**rest}",
            ["Serilog:MinimumLevel:Default"] = "Warning",
        }).Build();

        var snapshot = ReloadScope.Snapshot(configuration);
        snapshot.Should().Equal(new Dictionary<string, string?> { ["Gateway:Routes:quotes:Path"] = "/q/{**rest}" });
        snapshot.Should().ContainKey("gateway:routes:QUOTES:path", "configuration keys ignore case");
    }

    [Fact]
    public void A_cluster_follows_a_reloaded_balancing_policy_and_keeps_its_instances()
    {
        var config = new ClusterConfig { Destinations = new() { ["a"] = new DestinationConfig { Address = "http://127.0.0.1:5101" } } };
        var cluster = new ServiceCluster("quote-service", config);
        cluster.Balancer.Should().BeOfType<SmoothWeightedRoundRobin>();
        var instance = cluster.Instances.Single();

        cluster.Sync(config with { LoadBalancingPolicy = LoadBalancingPolicy.PowerOfTwoChoices });

        cluster.Balancer.Should().BeOfType<PowerOfTwoChoices>();
        cluster.Instances.Should().ContainSingle().Which.Should().BeSameAs(instance, "an unchanged destination is not replaced");
        cluster.Pick().Should().BeSameAs(instance);
    }

    [Fact]
    public void A_reload_that_makes_a_destination_a_backup_changes_its_role()
    {
        var config = new ClusterConfig
        {
            Destinations = new()
            {
                ["a"] = new DestinationConfig { Address = "http://127.0.0.1:5101" },
                ["b"] = new DestinationConfig { Address = "http://127.0.0.1:5102" },
            },
        };
        var cluster = new ServiceCluster("quote-service", config);

        cluster.Sync(config with { Destinations = new() { ["a"] = config.Destinations["a"], ["b"] = config.Destinations["b"] with { Backup = true } } });

        cluster.Instances.Single(i => i.Id == "b").IsBackup.Should().BeTrue();
        Enumerable.Range(0, 4).Select(_ => cluster.Pick()!.Id).Should().AllBe("a");
    }

    private static Dictionary<string, string?> With(string key, string value) =>
        new(Started, StringComparer.OrdinalIgnoreCase) { [key] = value };

    [Theory]
    [InlineData("Gateway:RateLimiting:Policies:quotes:PermitLimit", "Gateway:RateLimiting")]
    [InlineData("Gateway:Cors:web:Origins:1", "Gateway:Cors")]
    [InlineData("Gateway:Auth:Policies:ops:Roles:1", "Gateway:Auth:Policies")]
    public void A_section_of_policies_is_named_whole_and_its_keys_are_known_by_its_name(string key, string section)
    {
        ReloadScope.RestartNeeded(Started, With(key, "changed")).Should().Equal(section);
        ReloadScope.IsKeyOf(section, key).Should().BeTrue();
        ReloadScope.IsKeyOf(section, section).Should().BeTrue();
        ReloadScope.IsKeyOf(section, section + "Extra:Policies").Should().BeFalse();
        ReloadScope.IsKeyOf(section, "Gateway:Routes:quotes:Cors").Should().BeFalse();
    }

    [Fact]
    public void Taking_a_reloads_routes_keeps_every_other_running_value()
    {
        var running = new Dictionary<string, string?>
        {
            ["Gateway:Routes:old:Path"] = "/old/{**rest}",
            ["Gateway:Clusters:c:Destinations:a:Address"] = "http://127.0.0.1:1",
        };
        var current = new Dictionary<string, string?>
        {
            ["Gateway:Routes:new:Path"] = "/new/{**rest}",
            ["Gateway:Clusters:c:Destinations:a:Address"] = "http://127.0.0.1:2",
        };

        ReloadScope.WithValuesOf(running, current, ReloadScope.IsRoute).Should().Equal(new Dictionary<string, string?>
        {
            ["Gateway:Routes:new:Path"] = "/new/{**rest}",
            ["Gateway:Clusters:c:Destinations:a:Address"] = "http://127.0.0.1:1",
        });
        ReloadScope.IsRoute("Gateway:Routes:new").Should().BeTrue();
        ReloadScope.IsRoute("Gateway:RoutesExtra").Should().BeFalse();
        ReloadScope.IsRoute("Gateway:Clusters:c").Should().BeFalse();
        ReloadScope.RouteIdOf("Gateway:Routes:new").Should().Be("new");
        ReloadScope.IsClusterKey("Gateway:Clusters:c:Destinations:a:Address", ["c"]).Should().BeTrue();
        ReloadScope.IsClusterKey("Gateway:Clusters:cc:Destinations:a:Address", ["c"]).Should().BeFalse();
    }
}
