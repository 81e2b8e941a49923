using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>Retries, timeouts and the circuit breaker, counted at the upstreams.</summary>
[Collection(MetricsCollection.Name)]
public sealed class ResilienceTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_GET_answered_5xx_is_retried_on_the_other_instance()
    {
        await using var failing = await NamedUpstream.StartAsync("failing");
        await using var healthy = await NamedUpstream.StartAsync("healthy");
        failing.Status = 503;
        await using var gateway = await TestGateway.StartAsync(Passive(GatewayConfig.Quotes(failing.Url, healthy.Url)).Set("Gateway:Routes:quotes:Retries", 1));

        for (var i = 0; i < 10; i++)
        {
            using var response = await gateway.Client.GetAsync("/api/v1/quotes/status");
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            (await response.Content.ReadAsStringAsync()).Should().Be("healthy");
        }

        healthy.Upstream.Count("/quotes/status").Should().Be(10, "every request ends on the healthy instance");
        failing.Upstream.Count("/quotes/status").Should().Be(5, "round-robin sends every other first attempt to the failing one, and never a retry");
    }

    [Fact]
    public async Task Each_retry_is_logged_by_Polly_naming_the_clusters_pipeline()
    {
        await using var failing = await NamedUpstream.StartAsync("failing");
        failing.Status = 503;
        var log = Path.Combine(Directory.CreateTempSubdirectory("gw-polly-").FullName, "gateway.log");
        await using (var gateway = await TestGateway.StartAsync(Passive(GatewayConfig.Quotes(failing.Url)).Set("Gateway:Routes:quotes:Retries", 2)
            .LogToFile(log, "{SourceContext} {Message:lj}{NewLine}")))
        {
            using (var response = await gateway.Client.GetAsync("/api/v1/quotes/status"))
            {
                response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            }

            failing.Status = 200;
            using var answered = await gateway.Client.GetAsync("/api/v1/quotes/status");
            answered.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        // The host is disposed: its file sink has written everything.
        var polly = File.ReadAllLines(log).Where(line => line.StartsWith("Polly ", StringComparison.Ordinal)).ToArray();
        polly.Count(line => line.Contains("'OnRetry'", StringComparison.Ordinal) && line.Contains("gateway-cluster:quote-service-cluster", StringComparison.Ordinal))
            .Should().Be(2);
        // Only the attempts the retry handled: the gateway's Polly options drop those under Warning, the last failed
        // attempt (no retry left) and the one that succeeded.
        polly.Count(line => line.Contains("Execution attempt", StringComparison.Ordinal)).Should().Be(2);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_spent_retry_budget_stops_retries_to_a_failing_service(bool budgeted)
    {
        await using var failing = await NamedUpstream.StartAsync("failing");
        failing.Status = 503;
        await using var gateway = await TestGateway.StartAsync(Passive(GatewayConfig.Quotes(failing.Url))
            .Set("Gateway:Routes:quotes:Retries", 3)
            .Set("Gateway:Clusters:quote-service:RetryBudget:Enabled", budgeted)
            .Set("Gateway:Clusters:quote-service:RetryBudget:Ratio", 0.2)
            .Set("Gateway:Clusters:quote-service:RetryBudget:MinRetriesPerSecond", 0));

        for (var i = 0; i < 40; i++)
        {
            using var response = await gateway.Client.GetAsync("/api/v1/quotes/status");
            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        }

        var sent = failing.Upstream.Count("/quotes/status");
        if (budgeted)
        {
            // A fifth of 40 requests: 8 retries in all, where the route alone would allow 120.
            sent.Should().BeInRange(41, 48);
            (await gateway.Client.GetStringAsync("/metrics")).Should().MatchRegex("""(?m)^gateway_retry_budget_exhausted_total\{[^}]*service="quote-service"[^}]*\} [1-9]""");
        }
        else
        {
            sent.Should().Be(160, "each request tried four times");
        }
    }

    [Fact]
    public async Task A_POST_without_an_idempotency_key_is_sent_exactly_once_whatever_the_retry_setting()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var b = await NamedUpstream.StartAsync("b");
        a.Status = b.Status = 503;
        await using var gateway = await TestGateway.StartAsync(Passive(GatewayConfig.Quotes(a.Url, b.Url))
            .Set("Gateway:Routes:quotes:Retries", 3)
            .Set("Gateway:Routes:quotes:RetryDelay", "00:00:00.010")
            .Set("Gateway:Limits:RetryBodyBufferLimit", 1024));

        using (var once = await gateway.Client.PostAsync("/api/v1/quotes/status", JsonContent.Create(new { quote = 1 })))
        {
            once.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "the upstream's own answer passes through");
        }

        Sent(a, b).Should().Be(1);

        using (var keyed = new HttpRequestMessage(HttpMethod.Post, "/api/v1/quotes/status") { Content = new StringContent("""{"quote":2}""", System.Text.Encoding.UTF8, "application/json") })
        {
            keyed.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
            using var response = await gateway.Client.SendAsync(keyed);
        }

        Sent(a, b).Should().Be(1 + 4, "a keyed POST is retried: one attempt and three retries");
        a.Upstream.Count("/quotes/status").Should().BeGreaterThan(1);
        b.Upstream.Count("/quotes/status").Should().BeGreaterThan(1, "retries move to the other instance");

        using (var big = new HttpRequestMessage(HttpMethod.Post, "/api/v1/quotes/status") { Content = new ByteArrayContent(new byte[4096]) })
        {
            big.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
            using var response = await gateway.Client.SendAsync(big);
        }

        Sent(a, b).Should().Be(1 + 4 + 1, "a body over the retry buffer streams and is sent once");
    }

    [Theory]
    [InlineData("/quotes/status")]
    [InlineData("/quotes/reset")]
    [InlineData("/quotes/hold")]
    public async Task Under_503s_resets_and_timeouts_a_POST_without_a_key_arrives_once_and_one_with_a_key_at_most_once_per_attempt(string fault)
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var b = await NamedUpstream.StartAsync("b");
        a.Status = b.Status = 503;
        await using var gateway = await TestGateway.StartAsync(Passive(GatewayConfig.Quotes(a.Url, b.Url))
            .Set("Gateway:Routes:quotes:Retries", 2)
            .Set("Gateway:Routes:quotes:AttemptTimeout", "00:00:00.300")
            .Set("Gateway:Routes:quotes:Timeout", "00:00:05"));
        int Arrived() => a.Upstream.Count(fault) + b.Upstream.Count(fault);

        for (var i = 0; i < 5; i++)
        {
            using var response = await gateway.Client.PostAsync("/api/v1" + fault, new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
            ((int)response.StatusCode).Should().BeGreaterThanOrEqualTo(500);
            Arrived().Should().Be(i + 1, "a POST without Idempotency-Key is never sent twice");
        }

        for (var i = 0; i < 3; i++)
        {
            using var keyed = new HttpRequestMessage(HttpMethod.Post, "/api/v1" + fault) { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
            keyed.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
            using var response = await gateway.Client.SendAsync(keyed);
        }

        Arrived().Should().Be(5 + (3 * 3), "each keyed POST is sent once per attempt: one try and two retries");
        a.Release.TrySetResult();
        b.Release.TrySetResult();
    }

    [Fact]
    public async Task Attempt_timeouts_are_retried_and_the_total_timeout_ends_in_a_504_problem()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var gateway = await TestGateway.StartAsync(Passive(GatewayConfig.Quotes(a.Url))
            .Set("Gateway:Routes:quotes:Timeout", "00:00:01.200")
            .Set("Gateway:Routes:quotes:AttemptTimeout", "00:00:00.300")
            .Set("Gateway:Routes:quotes:Retries", 5)
            .Set("Gateway:Routes:quotes:RetryDelay", "00:00:00.050"));

        var clock = Stopwatch.StartNew();
        using var response = await gateway.Client.GetAsync("/api/v1/quotes/hold");
        clock.Stop();

        response.StatusCode.Should().Be(HttpStatusCode.GatewayTimeout);
        await ProblemAssertions.ShouldBeProblemAsync(response, 504);
        a.Upstream.Count("/quotes/hold").Should().BeInRange(2, 4, "each 300 ms attempt times out and is retried until 1.2 s are spent");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(3), "the total timeout bounds the whole call");
    }

    [Fact]
    public async Task The_breaker_opens_answers_503_without_calling_upstream_then_half_opens_and_closes_on_success()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        a.Status = 500;
        await using var gateway = await TestGateway.StartAsync(Passive(GatewayConfig.Quotes(a.Url))
            .Set("Gateway:Clusters:quote-service:CircuitBreaker:Enabled", true)
            .Set("Gateway:Clusters:quote-service:CircuitBreaker:FailureRatio", 0.5)
            .Set("Gateway:Clusters:quote-service:CircuitBreaker:MinimumThroughput", 4)
            .Set("Gateway:Clusters:quote-service:CircuitBreaker:SamplingDuration", "00:00:10")
            // Long enough that the open-state checks below finish inside the break on a busy machine.
            .Set("Gateway:Clusters:quote-service:CircuitBreaker:BreakDuration", "00:00:03"));

        (await BreakerState(gateway)).Should().Be("closed", "an enabled breaker is closed before the first request, not 'none'");
        for (var i = 0; i < 4; i++)
        {
            using var failed = await gateway.Client.GetAsync("/api/v1/quotes/status");
            failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        }

        var calls = a.Upstream.Count("/quotes/status");
        var clock = Stopwatch.StartNew();
        using (var open = await gateway.Client.GetAsync("/api/v1/quotes/status"))
        {
            clock.Stop();
            open.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            open.Headers.RetryAfter.Should().NotBeNull();
            (await ProblemAssertions.ShouldBeProblemAsync(open, 503)).GetProperty("title").GetString().Should().Be("Service Unavailable");
        }

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(1), "an open breaker answers at once");
        a.Upstream.Count("/quotes/status").Should().Be(calls, "no upstream call while the breaker is open");
        (await BreakerState(gateway)).Should().Be("open");
        (await gateway.Client.GetStringAsync("/metrics")).Should().MatchRegex(BreakerGauge(1));

        a.Status = 200;
        await Poll.UntilAsync(async () =>
        {
            using var response = await gateway.Client.GetAsync("/api/v1/quotes/status");
            return response.StatusCode == HttpStatusCode.OK;
        }, Deadline, "the half-open probe request to succeed");
        (await BreakerState(gateway)).Should().Be("closed");
        (await gateway.Client.GetStringAsync("/metrics")).Should().MatchRegex(BreakerGauge(0));
    }

    /// <summary>No probes, no breaker (unless a test turns it on), and passive detection slow enough not to take an instance out.</summary>
    private static GatewayConfig Passive(GatewayConfig config) => config
        .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false)
        .Set("Gateway:Clusters:quote-service:CircuitBreaker:Enabled", false)
        .Set("Gateway:Clusters:quote-service:HealthCheck:UnhealthyThreshold", 1000)
        .Set("Gateway:Routes:quotes:RetryDelay", "00:00:00.010");

    private static string BreakerGauge(int state) => $$"""(?m)^gateway_circuit_breaker_state\{[^}]*service="quote-service"[^}]*\} {{state}}( |$)""";

    private static int Sent(NamedUpstream a, NamedUpstream b) => a.Upstream.Count("/quotes/status") + b.Upstream.Count("/quotes/status");

    private static async Task<string?> BreakerState(TestGateway gateway)
    {
        var breakers = await gateway.Client.GetFromJsonAsync<JsonElement>("/admin/circuit-breakers");
        return breakers.EnumerateArray().Single(b => b.GetProperty("service").GetString() == "quote-service").GetProperty("state").GetString();
    }
}
