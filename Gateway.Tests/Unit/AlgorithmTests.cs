using Gateway.Core.Discovery;
using Gateway.Core.Flows;
using Gateway.Core.Identity;
using Gateway.Core.RateLimiting;
using System.Security.Claims;

namespace Gateway.Tests.Unit;

public sealed class LoadBalancerTests
{
    private static ServiceInstance Instance(string id, int weight) => new(id, $"http://{id}:80", weight, InstanceSource.Configuration);

    [Fact]
    public void Smooth_weighted_round_robin_interleaves_exactly_by_weight()
    {
        ServiceInstance[] instances = [Instance("a", 3), Instance("b", 1)];
        var balancer = new SmoothWeightedRoundRobin();
        var picks = Enumerable.Range(0, 8).Select(_ => balancer.Pick(instances, null)!.Id).ToArray();
        string.Concat(picks).Should().Be("aabaaaba");
    }

    [Fact]
    public void Weights_5_1_1_give_nginxs_sequence()
    {
        ServiceInstance[] instances = [Instance("a", 5), Instance("b", 1), Instance("c", 1)];
        var balancer = new SmoothWeightedRoundRobin();
        string.Concat(Enumerable.Range(0, 7).Select(_ => balancer.Pick(instances, null)!.Id)).Should().Be("aabacaa");
    }

    [Fact]
    public void An_unhealthy_instance_is_never_picked_and_tried_ones_are_avoided()
    {
        var down = Instance("down", 10);
        down.Record(false, 1, 1, isProbe: true);
        ServiceInstance[] instances = [down, Instance("a", 1), Instance("b", 1)];
        var balancer = new SmoothWeightedRoundRobin();
        Enumerable.Range(0, 50).Select(_ => balancer.Pick(instances, null)!.Id).Should().NotContain("down");
        balancer.Pick(instances, [instances[1]])!.Id.Should().Be("b");
        balancer.Pick([down], null).Should().BeNull();
    }

    [Fact]
    public void Power_of_two_choices_prefers_the_less_loaded_instance()
    {
        var busy = Instance("busy", 1);
        for (var i = 0; i < 50; i++)
        {
            busy.BeginRequest();
        }

        ServiceInstance[] instances = [busy, Instance("idle", 1)];
        var balancer = new PowerOfTwoChoices();
        Enumerable.Range(0, 20).Select(_ => balancer.Pick(instances, null)!.Id).Should().OnlyContain(id => id == "idle");
    }

    [Fact]
    public void Thresholds_take_an_instance_out_after_N_failures_and_back_after_M_probes()
    {
        var instance = Instance("a", 1);
        instance.Record(true, 2, 2, isProbe: true).Should().Be(InstanceStatus.Healthy);
        instance.Record(false, 2, 2, isProbe: false).Should().BeNull();
        instance.Record(false, 2, 2, isProbe: false).Should().Be(InstanceStatus.Unhealthy);
        instance.Record(true, 2, 2, isProbe: false).Should().BeNull("a forwarded success does not bring it back");
        instance.Record(true, 2, 2, isProbe: true).Should().BeNull();
        instance.Record(true, 2, 2, isProbe: true).Should().Be(InstanceStatus.Healthy);
    }
}

public sealed class RateLimitAlgorithmTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static RateLimitPolicyConfig Policy(RateLimitAlgorithm algorithm) => new() { Algorithm = algorithm, PermitLimit = 3, Window = TimeSpan.FromSeconds(10) };

    [Fact]
    public void Sliding_window_admits_the_limit_per_window_and_frees_each_permit_a_window_after_it_was_used()
    {
        var time = new ManualTime(Start);
        var store = new InMemoryRateLimitStore(time);
        var policy = Policy(RateLimitAlgorithm.SlidingWindow);
        bool Next() => store.TryDecide("k", policy)!.Value.Allowed;

        Next().Should().BeTrue();
        time.Advance(TimeSpan.FromSeconds(4));
        Next().Should().BeTrue();
        Next().Should().BeTrue();
        Next().Should().BeFalse();
        time.Advance(TimeSpan.FromMilliseconds(5999));
        Next().Should().BeFalse("the first permit frees exactly 10 s after it was used");
        time.Advance(TimeSpan.FromMilliseconds(1));
        Next().Should().BeTrue();
        Next().Should().BeFalse();
    }

    [Fact]
    public void Fixed_window_resets_at_the_window_edge()
    {
        var time = new ManualTime(Start);
        var store = new InMemoryRateLimitStore(time);
        var policy = Policy(RateLimitAlgorithm.FixedWindow);
        var decisions = Enumerable.Range(0, 4).Select(_ => store.TryDecide("k", policy)!.Value).ToArray();
        decisions.Select(d => d.Allowed).Should().Equal(true, true, true, false);
        decisions.Select(d => d.Remaining).Should().Equal(2, 1, 0, 0);
        time.Advance(TimeSpan.FromMilliseconds(9999));
        store.TryDecide("k", policy)!.Value.Allowed.Should().BeFalse();
        time.Advance(TimeSpan.FromMilliseconds(1));
        store.TryDecide("k", policy)!.Value.Allowed.Should().BeTrue();
    }

    [Fact]
    public void Token_bucket_refills_one_token_per_window_over_limit()
    {
        var time = new ManualTime(Start);
        var store = new InMemoryRateLimitStore(time);
        var policy = Policy(RateLimitAlgorithm.TokenBucket);
        Enumerable.Range(0, 4).Select(_ => store.TryDecide("k", policy)!.Value.Allowed).Should().Equal(true, true, true, false);
        time.Advance(TimeSpan.FromMilliseconds(3300));
        store.TryDecide("k", policy)!.Value.Allowed.Should().BeFalse("a token takes 3.33 s");
        time.Advance(TimeSpan.FromMilliseconds(40));
        store.TryDecide("k", policy)!.Value.Allowed.Should().BeTrue();
    }

    [Fact]
    public void Partitions_do_not_share_budgets()
    {
        var store = new InMemoryRateLimitStore(new ManualTime(Start));
        var policy = Policy(RateLimitAlgorithm.SlidingWindow);
        for (var i = 0; i < 3; i++)
        {
            store.TryDecide("a", policy)!.Value.Allowed.Should().BeTrue();
        }

        store.TryDecide("a", policy)!.Value.Allowed.Should().BeFalse();
        store.TryDecide("b", policy)!.Value.Allowed.Should().BeTrue();
    }
}

public sealed class ClientAddressPartitionTests
{
    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::", "2001:db8:1:2::/64")]
    [InlineData("::1", "::/64")]
    public void An_address_counts_against_its_client_partition(string address, string partition) =>
        Gateway.Core.RateLimiting.ClientAddressPartition.For(System.Net.IPAddress.Parse(address)).Should().Be(partition);

    [Fact]
    public void An_unknown_address_has_a_partition_of_its_own() =>
        Gateway.Core.RateLimiting.ClientAddressPartition.For(null).Should().Be("unknown");
}

public sealed class IdentityAndValidationTests
{
    [Fact]
    public void Keycloak_realm_and_client_roles_become_role_claims()
    {
        var identity = new ClaimsIdentity([
            new Claim("realm_access", """{"roles":["customer"]}""", "JSON"),
            new Claim("resource_access", """{"b-commerce-gateway":{"roles":["admin"]},"other":{"roles":["ignored"]}}""", "JSON"),
        ], "test");
        IdentityClaims.AddKeycloakRoles(identity, "b-commerce-gateway");
        identity.FindAll(IdentityClaims.RoleClaimType).Select(c => c.Value).Should().BeEquivalentTo("customer", "admin");
    }

    [Theory]
    [InlineData("01310-100", true)]
    [InlineData("01310100", true)]
    [InlineData("0131-0100", false)]
    [InlineData("ABCDE-FGH", false)]
    public void CEPs_are_NNNNN_NNN_or_eight_digits(string cep, bool valid)
    {
        var request = new QuoteRequest(cep, "20040-002", [new Volume(1, 1, 10, 10, 10)], 10);
        new QuoteRequestValidator().Validate(request).IsValid.Should().Be(valid);
    }

    [Fact]
    public void Volumes_amount_and_bounds_are_checked()
    {
        var validator = new QuoteRequestValidator();
        validator.Validate(new QuoteRequest("01310-100", "20040-002", [], 10)).IsValid.Should().BeFalse();
        validator.Validate(new QuoteRequest("01310-100", "20040-002", [new Volume(0, 1, 1, 1, 1)], 10)).IsValid.Should().BeFalse();
        validator.Validate(new QuoteRequest("01310-100", "20040-002", [new Volume(1, 1, 1, 1, 1)], -1)).IsValid.Should().BeFalse();
        validator.Validate(new QuoteRequest("01310-100", "20040-002", [new Volume(1, 2000, 1, 1, 1)], 1)).IsValid.Should().BeFalse();
        validator.Validate(new QuoteRequest("01310-100", "20040-002", Enumerable.Repeat(new Volume(1, 1, 1, 1, 1), 101).ToArray(), 1)).IsValid.Should().BeFalse();
    }

    [Fact]
    public void The_flow_picks_the_cheapest_the_fastest_or_the_named_service()
    {
        CarrierService[] services = [new("pac", 20, 7, "C", "PAC"), new("sedex", 35, 2, "C", "SEDEX"), new("jad", 25, 4, "J", "P")];
        FreightFlowRequest Request(string? selection, string? serviceId) => new("01310-100", "20040-002", [new Volume(1, 1, 1, 1, 1)], 1, "c", selection, serviceId, null, null);
        FreightFlow.Select(services, Request("cheapest", null))!.ServiceId.Should().Be("pac");
        FreightFlow.Select(services, Request("fastest", null))!.ServiceId.Should().Be("sedex");
        FreightFlow.Select(services, Request(null, "jad"))!.ServiceId.Should().Be("jad");
        FreightFlow.Select(services, Request(null, "none")).Should().BeNull();
    }
}
