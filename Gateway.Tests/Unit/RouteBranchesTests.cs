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
    public void Client_networks_need_no_branch_a_reload_could_lack()
    {
        var running = new GatewayOptions { Routes = { ["plain"] = Plain } };
        RouteBranches.Missing(running, new Dictionary<string, RouteConfig>
        {
            ["allow"] = Plain with { AllowedClientNetworks = ["10.0.0.0/8"] },
            ["deny"] = Plain with { DeniedClientNetworks = ["10.0.0.1"] },
        }).Should().BeEmpty();
    }
}
