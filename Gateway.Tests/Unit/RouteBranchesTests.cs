using FluentAssertions;
using Gateway.Core.Caching;
using Gateway.Core.Routing;
using Xunit;

namespace Gateway.Tests.Unit;

public sealed class RouteBranchesTests
{
    private static readonly RouteConfig Plain = new() { Path = "/a/{**rest}", ClusterId = "c" };

    public static TheoryData<RouteBranch, RouteConfig, string> RoutesNeedingABranch => new()
    {
        { RouteBranch.ClientNetworks, Plain with { AllowedClientNetworks = ["10.0.0.0/8"] }, "AllowedClientNetworks or DeniedClientNetworks" },
        { RouteBranch.ClientNetworks, Plain with { DeniedClientNetworks = ["10.0.0.1"] }, "AllowedClientNetworks or DeniedClientNetworks" },
        { RouteBranch.GrpcWeb, Plain with { GrpcWeb = true }, "GrpcWeb" },
        { RouteBranch.Compression, Plain with { Compress = true }, "Compress" },
        { RouteBranch.Caching, Plain with { Cache = new RouteCacheConfig { Duration = TimeSpan.FromSeconds(5) } }, "Cache" },
    };

    [Theory]
    [MemberData(nameof(RoutesNeedingABranch))]
    public void A_route_needing_a_branch_the_running_pipeline_lacks_is_named_with_its_setting(RouteBranch branch, RouteConfig route, string setting)
    {
        var running = new GatewayOptions { Routes = { ["plain"] = Plain } };
        RouteBranches.InPipeline(running, branch).Should().BeFalse();

        RouteBranches.Missing(running, new Dictionary<string, RouteConfig> { ["plain"] = Plain, ["new"] = route }).Should()
            .Equal($"Gateway:Routes:new needs {setting}, which no route had when the gateway started");

        var started = new GatewayOptions { Routes = { ["plain"] = Plain, ["other"] = route } };
        RouteBranches.InPipeline(started, branch).Should().BeTrue();
        RouteBranches.Missing(started, new Dictionary<string, RouteConfig> { ["new"] = route }).Should().BeEmpty("the pipeline has the branch");
    }

    [Fact]
    public void The_gateway_wide_deny_list_puts_the_client_network_branch_in_the_pipeline()
    {
        var running = new GatewayOptions { Routes = { ["plain"] = Plain }, DeniedClientNetworks = ["192.0.2.0/24"] };
        RouteBranches.InPipeline(running, RouteBranch.ClientNetworks).Should().BeTrue();
        RouteBranches.Missing(running, new Dictionary<string, RouteConfig> { ["new"] = Plain with { AllowedClientNetworks = ["10.0.0.0/8"] } })
            .Should().BeEmpty();
    }
}
