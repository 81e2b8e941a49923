using System.Net;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>What a reload changes in a running cluster, in a gateway process on a watched configuration file.</summary>
public sealed class ClusterReloadTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_reloaded_breaker_is_built_again_and_opens_on_its_new_threshold_without_a_restart()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        a.Status = 503;
        // Passive health checks out of the way: an instance taken out of rotation would spare the breaker its calls.
        var (gateway, file) = await WatchedGateway.StartAsync(a, config => config.Set("Gateway:Clusters:quote-service:HealthCheck:UnhealthyThreshold", 1000));
        await using var running = gateway;

        // The started breaker needs ten calls in its window: three failures leave it closed.
        for (var i = 0; i < 3; i++)
        {
            (await gateway.StatusAsync("/api/v1/quotes/status")).Should().Be(HttpStatusCode.ServiceUnavailable);
        }

        (await BreakerAsync(gateway)).Should().Be("closed");

        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new
        {
            Gateway = new
            {
                Clusters = new Dictionary<string, object>
                {
                    ["quote-service"] = new
                    {
                        CircuitBreaker = new { MinimumThroughput = 2, FailureRatio = 0.5, BreakDuration = "00:01:00" },
                        Destinations = new Dictionary<string, object> { ["a"] = new { Address = a.Url } },
                    },
                },
            },
        }));
        await Poll.UntilAsync(() => gateway.Output.Any(line => line.Contains("resilience pipeline was built again", StringComparison.Ordinal)),
            Deadline, "the reload to build the cluster's pipeline again");

        // The new breaker counts afresh: two failures open it, and the service then sees nothing.
        await Poll.UntilAsync(async () =>
        {
            await gateway.StatusAsync("/api/v1/quotes/status");
            return await BreakerAsync(gateway) == "open";
        }, Deadline, "the new breaker to open after its two calls");
        var seen = a.Upstream.Count("/quotes/status");
        for (var i = 0; i < 3; i++)
        {
            (await gateway.StatusAsync("/api/v1/quotes/status")).Should().Be(HttpStatusCode.ServiceUnavailable);
        }

        a.Upstream.Count("/quotes/status").Should().Be(seen, "an open breaker answers without calling the service");
        (await WatchedGateway.ConfigurationStatusAsync(gateway)).GetProperty("pendingRestart").GetArrayLength().Should().Be(0, "the breaker follows a reload");
    }

    [Fact]
    public async Task A_service_a_reload_makes_optional_stops_holding_readiness_and_made_required_again_holds_it()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        var dead = $"http://127.0.0.1:{Ports.Free()}";
        var (gateway, file) = await WatchedGateway.StartAsync(a, content: WithExtra(a, dead, required: true));
        await using var running = gateway;
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/health/ready") == HttpStatusCode.ServiceUnavailable,
            Deadline, "the required service's failed probes to make the gateway unready");

        await File.WriteAllTextAsync(file, WithExtra(a, dead, required: false));
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/health/ready") == HttpStatusCode.OK, Deadline, "the optional service to stop holding readiness");
        using (var health = await gateway.Client.GetAsync("/health"))
        {
            health.StatusCode.Should().Be(HttpStatusCode.OK, "an optional service that is down degrades the gateway, no more");
            var extra = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").GetProperty("microservices").GetProperty("extra");
            extra.GetProperty("status").GetString().Should().Be("degraded");
        }

        (await WatchedGateway.ConfigurationStatusAsync(gateway)).GetProperty("pendingRestart").GetArrayLength().Should().Be(0, "Required follows a reload");
        await File.WriteAllTextAsync(file, WithExtra(a, dead, required: true));
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/health/ready") == HttpStatusCode.ServiceUnavailable,
            Deadline, "the service made required again to hold readiness");
        (await gateway.StatusAsync("/health")).Should().Be(HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task Changed_connection_settings_get_new_handlers_for_calls_and_probes_without_a_restart()
    {
        using var certificates = new TestCertificates();
        await using var tls = await TlsUpstream.StartAsync(certificates.Server("127.0.0.1"));
        await using var a = await NamedUpstream.StartAsync("a");
        var (gateway, file) = await WatchedGateway.StartAsync(a, content: WithTlsService(a, tls, authority: null));
        await using var running = gateway;
        // The system does not trust the test's authority: the probes' handshakes fail and take the instance out.
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v1/svc/whoami") == HttpStatusCode.ServiceUnavailable, Deadline,
            "the untrusted service to be taken out of rotation");
        tls.Probes.Should().Be(0);

        // Back in rotation only through probes made over the new trust, and then called over it.
        await File.WriteAllTextAsync(file, WithTlsService(a, tls, certificates.AuthorityPath));
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v1/svc/whoami") == HttpStatusCode.OK, Deadline,
            "probes and calls to be made over the reloaded authority");
        tls.Probes.Should().BeGreaterThan(0);
        (await WatchedGateway.ConfigurationStatusAsync(gateway)).GetProperty("pendingRestart").GetArrayLength().Should().Be(0, "HttpClient follows a reload");

        await File.WriteAllTextAsync(file, WithTlsService(a, tls, authority: null));
        await Poll.UntilAsync(async () => await gateway.StatusAsync("/api/v1/svc/whoami") != HttpStatusCode.OK, Deadline,
            "the authority's removal to be followed as well");
    }

    /// <summary>The file: the quotes cluster on a, and a route and cluster "svc" on an HTTPS upstream, trusted through <paramref name="authority"/> when given.</summary>
    private static string WithTlsService(NamedUpstream a, TlsUpstream tls, string? authority) => JsonSerializer.Serialize(new
    {
        Gateway = new
        {
            Routes = new Dictionary<string, object>
            {
                ["svc"] = new { Path = "/api/v1/svc/{**rest}", ClusterId = "svc", Methods = new[] { "GET" }, Transform = new { PathRemovePrefix = "/api/v1/svc" } },
            },
            Clusters = new Dictionary<string, object>
            {
                ["quote-service"] = new { Destinations = new Dictionary<string, object> { ["a"] = new { Address = a.Url } } },
                ["svc"] = new
                {
                    HttpClient = new { CaCertificatePath = authority },
                    HealthCheck = new { Interval = "00:00:00.2" },
                    CircuitBreaker = new { Enabled = false },
                    Destinations = new Dictionary<string, object> { ["s"] = new { Address = tls.Url } },
                },
            },
        },
    });

    /// <summary>The file: the quotes cluster on a, and a cluster "extra" whose one instance never answers its probes.</summary>
    private static string WithExtra(NamedUpstream a, string dead, bool required) => JsonSerializer.Serialize(new
    {
        Gateway = new
        {
            Clusters = new Dictionary<string, object>
            {
                ["quote-service"] = new { Destinations = new Dictionary<string, object> { ["a"] = new { Address = a.Url } } },
                ["extra"] = new
                {
                    Required = required,
                    HealthCheck = new { Interval = "00:00:00.2", UnhealthyThreshold = 1 },
                    Destinations = new Dictionary<string, object> { ["x"] = new { Address = dead } },
                },
            },
        },
    });

    private static async Task<string?> BreakerAsync(GatewayProcess gateway) =>
        JsonDocument.Parse(await gateway.Client.GetStringAsync("/admin/circuit-breakers")).RootElement.EnumerateArray()
            .Single(breaker => breaker.GetProperty("service").GetString() == "quote-service").GetProperty("state").GetString();
}
