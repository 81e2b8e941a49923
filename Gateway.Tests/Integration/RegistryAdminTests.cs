using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>Instances added and removed at runtime: through the admin API, and by a configuration reload.</summary>
public sealed class RegistryAdminTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task An_instance_registered_through_the_admin_API_takes_traffic_and_leaves_when_removed()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var b = await NamedUpstream.StartAsync("b");
        await using var gateway = await TestGateway.StartAsync(GatewayConfig.Quotes(a.Url).Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false));

        using (var created = await gateway.Client.PostAsJsonAsync("/admin/services/quote-service/instances", new { id = "b", address = b.Url, weight = 1 }))
        {
            created.StatusCode.Should().Be(HttpStatusCode.Created);
        }

        var answers = await gateway.GetStringsAsync("/api/v1/quotes/who", 10);
        answers.Count(x => x == "a").Should().Be(5);
        answers.Count(x => x == "b").Should().Be(5);

        using (var duplicate = await gateway.Client.PostAsJsonAsync("/admin/services/quote-service/instances", new { id = "b", address = b.Url }))
        {
            await ProblemAssertions.ShouldBeProblemAsync(duplicate, 409);
        }

        using (var removed = await gateway.Client.DeleteAsync("/admin/services/quote-service/instances/b"))
        {
            removed.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        (await gateway.GetStringsAsync("/api/v1/quotes/who", 6)).Should().AllBe("a");
        using var missing = await gateway.Client.DeleteAsync("/admin/services/quote-service/instances/b");
        await ProblemAssertions.ShouldBeProblemAsync(missing, 404);
    }

    [Theory]
    [InlineData("""{ "id": "x", "address": "not a url" }""", "Address")]
    [InlineData("""{ "id": "x", "address": "ftp://127.0.0.1:21" }""", "Address")]
    [InlineData("""{ "id": "x", "address": "http://127.0.0.1:1", "weight": 0 }""", "Weight")]
    [InlineData("""{ "id": "", "address": "http://127.0.0.1:1" }""", "Id")]
    public async Task A_bad_registration_is_a_400_problem_naming_the_field(string body, string field)
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var gateway = await TestGateway.StartAsync(GatewayConfig.Quotes(a.Url).Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false));

        using var response = await gateway.Client.PostAsync("/admin/services/quote-service/instances", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, 400);
        problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().Contain(name => name.Equals(field, StringComparison.OrdinalIgnoreCase));
        (await gateway.GetStringsAsync("/api/v1/quotes/who", 2)).Should().AllBe("a", "nothing was registered");
    }

    [Theory]
    [InlineData("""{ "id": "x", "address": """, "application/json", 400, "not valid JSON for this endpoint")]
    [InlineData("""{ "id": "x", "address": "http://127.0.0.1:1", "weight": "heavy-secret" }""", "application/json", 400, "(at $.weight)")]
    [InlineData("""{ "id": "x", "address": "http://127.0.0.1:1", "<b>secret</b>": [1, }""", "application/json", 400, "not valid JSON for this endpoint.")]
    [InlineData("""{ "id": "x", "secretsecretsecretsecretsecretsecretsecretsecretsecretsecretsecretsecret": [1, }""", "application/json", 400,
        "not valid JSON for this endpoint.")]
    [InlineData("", "application/json", 400, "lacks a required value")]
    [InlineData("""{ "id": "x", "address": "http://127.0.0.1:1" }""", "text/plain", 415, "must be JSON")]
    [InlineData("""{ "id": "x", "address": "http://127.0.0.1:1", "padding": "over the limit, over the limit, over the limit, over the limit" }""", "application/json", 413,
        "exceeds this endpoint's limit")]
    public async Task A_registration_body_that_cannot_be_read_is_a_problem_saying_what_to_fix(string body, string mediaType, int status, string detail)
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var gateway = await TestGateway.StartAsync(GatewayConfig.Quotes(a.Url).Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false)
            .Set("Gateway:Limits:MaxRequestBodySize", 100));

        using var response = await gateway.Client.PostAsync("/admin/services/quote-service/instances", new StringContent(body, System.Text.Encoding.UTF8, mediaType));

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, status);
        problem.GetProperty("detail").GetString().Should().Contain(detail).And.NotContain("secret", "nothing the client sent is quoted back");
        problem.GetProperty("code").GetString().Should().Be("unreadable_request");
        (await gateway.GetStringsAsync("/api/v1/quotes/who", 2)).Should().AllBe("a", "nothing was registered");
    }

    [Fact]
    public async Task Registering_on_an_unknown_service_is_a_404_problem()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var gateway = await TestGateway.StartAsync(GatewayConfig.Quotes(a.Url));
        using var response = await gateway.Client.PostAsJsonAsync("/admin/services/nope/instances", new { id = "x", address = a.Url });
        await ProblemAssertions.ShouldBeProblemAsync(response, 404);
    }

    [Fact]
    public async Task A_configuration_reload_adds_and_removes_instances_without_dropping_a_request_in_flight()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var b = await NamedUpstream.StartAsync("b");
        var file = Path.Combine(Directory.CreateTempSubdirectory("gw-reload-").FullName, "destinations.json");
        await File.WriteAllTextAsync(file, WatchedGateway.Destinations(("a", a.Url)));
        var config = GatewayConfig.Quotes().Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false);
        await using var gateway = await TestGateway.StartAsync(config, builder => builder.Configuration.AddJsonFile(file, optional: false, reloadOnChange: true));
        (await gateway.GetStringsAsync("/api/v1/quotes/who", 3)).Should().AllBe("a");

        await File.WriteAllTextAsync(file, WatchedGateway.Destinations(("a", a.Url), ("b", b.Url)));
        await Poll.UntilAsync(async () => (await gateway.GetStringsAsync("/api/v1/quotes/who", 2)).Contains("b"), Deadline, "the added instance to take traffic");

        // Two held requests, one per instance (round-robin); then a is removed while its request is in flight.
        var held = Enumerable.Range(0, 2).Select(async _ =>
        {
            using var response = await gateway.Client.GetAsync("/api/v1/quotes/hold");
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }).ToArray();
        await Task.WhenAll(a.Holding.Task, b.Holding.Task).WaitAsync(Deadline);
        await File.WriteAllTextAsync(file, WatchedGateway.Destinations(("b", b.Url)));
        await Poll.UntilAsync(async () => (await gateway.GetStringsAsync("/api/v1/quotes/who", 4)).All(x => x == "b"), Deadline, "the removed instance to leave rotation");
        a.Release.TrySetResult();
        b.Release.TrySetResult();
        var results = await Task.WhenAll(held).WaitAsync(Deadline);
        results.Should().AllSatisfy(r => r.StatusCode.Should().Be(HttpStatusCode.OK));
        results.Select(r => r.Body).Should().BeEquivalentTo(["a", "b"], "the request in flight on the removed instance completes");
    }

    [Fact]
    public async Task A_reload_with_a_bad_value_is_refused_with_an_error_naming_the_key_and_the_running_configuration_stays()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        var (gateway, file) = await WatchedGateway.StartAsync(a);
        await using var running = gateway;

        await File.WriteAllTextAsync(file, WatchedGateway.Destinations(("a", a.Url)).Replace("\"Address\"", "\"Weight\":\"heavy\",\"Address\"", StringComparison.Ordinal));
        await Poll.UntilAsync(
            () => gateway.Output.Any(line => line.Contains("reload refused", StringComparison.Ordinal)
                && line.Contains("Gateway:Clusters:quote-service:Destinations:a:Weight", StringComparison.Ordinal)),
            Deadline, "the refused reload to be logged naming the key");
        (await gateway.Client.GetStringAsync("/api/v1/quotes/who")).Should().Be("a", "the running configuration stays");
        (await WatchedGateway.ConfigurationStatusAsync(gateway)).GetProperty("lastReloadSuccessful").GetBoolean().Should().BeFalse();
        using (var health = await gateway.Client.GetAsync("/health"))
        {
            var configuration = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").GetProperty("infrastructure").GetProperty("configuration");
            configuration.GetProperty("status").GetString().Should().Be("degraded");
            configuration.GetProperty("description").GetString().Should().Contain("refused");
        }

        await Poll.UntilAsync(async () => Regex.IsMatch(await gateway.Client.GetStringAsync("/metrics"), @"(?m)^gateway_config_last_reload_successful(\{[^}]*\})? 0\b"),
            Deadline, "the metrics to report the refused reload, for an alert");

        await File.WriteAllTextAsync(file, WatchedGateway.Destinations(("a", a.Url), ("a2", a.Url)));
        await Poll.UntilAsync(async () => (await WatchedGateway.ConfigurationStatusAsync(gateway)).GetProperty("lastReloadSuccessful").GetBoolean(),
            Deadline, "a corrected file to be taken");
        await Poll.UntilAsync(async () => Regex.IsMatch(await gateway.Client.GetStringAsync("/metrics"), @"(?m)^gateway_config_last_reload_successful(\{[^}]*\})? 1\b"),
            Deadline, "the metrics to follow");
    }

    [Fact]
    public async Task A_reload_adds_a_cluster_with_its_route_and_names_what_waits_for_the_next_start()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var x = await NamedUpstream.StartAsync("x");
        var (gateway, file) = await WatchedGateway.StartAsync(a);
        await using var running = gateway;

        // A new cluster and a route to it (both taken), new limits (read once: they wait), and a balancing policy and
        // connection settings (followed). The new cluster has a second instance that refuses connections.
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new
        {
            Gateway = new
            {
                Limits = new { MaxRequestBodySize = 1_000_000 },
                Routes = new Dictionary<string, object>
                {
                    ["extra"] = new { Path = "/api/v1/extra/{**rest}", ClusterId = "extra-service", Transform = new { PathRemovePrefix = "/api/v1/extra" } },
                },
                Clusters = new Dictionary<string, object>
                {
                    ["quote-service"] = new
                    {
                        LoadBalancingPolicy = "PowerOfTwoChoices",
                        HttpClient = new { MaxConnectionsPerServer = 8 },
                        Destinations = new Dictionary<string, object> { ["a"] = new { Address = a.Url } },
                    },
                    ["extra-service"] = new
                    {
                        HealthCheck = new { Path = "/probe", Interval = "00:00:01", UnhealthyThreshold = 1 },
                        Destinations = new Dictionary<string, object> { ["x"] = new { Address = x.Url }, ["gone"] = new { Address = $"http://127.0.0.1:{Ports.Free()}" } },
                    },
                },
            },
        }));
        await Poll.UntilAsync(
            () => gateway.Output.Any(line => line.Contains("Configuration reload changed {Settings}, which the running gateway keeps as it started with until its next start", StringComparison.Ordinal)
                && line.Contains("\"Settings\":\"Gateway:Limits\"", StringComparison.Ordinal)),
            Deadline, "the reload to name only the limits as waiting for a restart");

        // The added cluster is probed: its refusing instance leaves rotation, and only x answers.
        await Poll.UntilAsync(async () => JsonDocument.Parse(await gateway.Client.GetStringAsync("/health/extra-service")).RootElement.GetProperty("healthy").GetInt32() == 1,
            Deadline, "the added cluster's probes to find its one live instance");
        for (var i = 0; i < 4; i++)
        {
            (await gateway.Client.GetStringAsync("/api/v1/extra/quotes/who")).Should().Be("x");
        }

        (await gateway.Client.GetStringAsync("/api/v1/quotes/who")).Should().Be("a");

        using (var health = await gateway.Client.GetAsync("/health"))
        {
            health.StatusCode.Should().Be(HttpStatusCode.OK);
            var checks = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
            var extra = checks.GetProperty("microservices").GetProperty("extra-service");
            extra.GetProperty("status").GetString().Should().Be("healthy");
            extra.GetProperty("total").GetInt32().Should().Be(2);
            checks.GetProperty("infrastructure").GetProperty("configuration").GetProperty("pendingRestart").GetArrayLength().Should().Be(1);
        }

        (await gateway.Client.GetStringAsync("/admin/routes")).Should().Contain("\"id\":\"extra\"");
        var status = await WatchedGateway.ConfigurationStatusAsync(gateway);
        status.GetProperty("pendingRestart").EnumerateArray().Select(e => e.GetString()).Should().Equal("Gateway:Limits");
        status.GetProperty("lastReloadSuccessful").GetBoolean().Should().BeTrue();
        await Poll.UntilAsync(async () => Regex.IsMatch(await gateway.Client.GetStringAsync("/metrics"), @"(?m)^gateway_config_restart_pending_settings(\{[^}]*\})? 1\b"),
            Deadline, "the metrics to count the settings that wait for a restart");

        // A required service added by a reload counts for readiness like the others.
        await x.DisposeAsync();
        await Poll.UntilAsync(async () =>
        {
            using var ready = await gateway.Client.GetAsync("/health/ready");
            return ready.StatusCode == HttpStatusCode.ServiceUnavailable;
        }, Deadline, "readiness to fail once the added required service has no instance left");
        using (var ready = await gateway.Client.GetAsync("/health/ready"))
        {
            (await ProblemAssertions.ShouldBeProblemAsync(ready, 503)).GetProperty("checks").EnumerateObject().Select(check => check.Name)
                .Should().Equal(["extra-service"], "a service a reload added is named like the others");
        }

        using var report = await gateway.Client.GetAsync("/health");
        report.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        JsonDocument.Parse(await report.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").GetProperty("microservices")
            .GetProperty("extra-service").GetProperty("status").GetString().Should().Be("unhealthy");
    }
}
