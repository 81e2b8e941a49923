using System.Collections.Concurrent;
using System.Net;
using System.Text;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Unit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// A route's <c>Mirror</c>: copies of its requests reach another cluster, bodies included when the gateway holds
/// them whole, while the client gets the route's own answer whatever the mirror does. In the metrics collection, as
/// the copies' outcomes are read from an in-process gateway's counters.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed class RequestMirrorTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly ConcurrentQueue<(string Method, string PathAndQuery, string Body, string? CorrelationId)> _copies = new();
    private int _unmarked;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private NamedUpstream _primary = null!;
    private TestUpstream _shadow = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _primary = await NamedUpstream.StartAsync("primary");
        _shadow = await TestUpstream.StartAsync(app =>
        {
            app.Map("/quotes/{**rest}", async (HttpContext context) =>
            {
                using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                if (context.Request.Headers["X-Gateway-Mirror"] != "1")
                {
                    Interlocked.Increment(ref _unmarked);
                }

                _copies.Enqueue((context.Request.Method, context.Request.Path + context.Request.QueryString, body, context.Request.Headers["X-Correlation-ID"].FirstOrDefault()));
                if (context.Request.Query.ContainsKey("hold"))
                {
                    await _release.Task;
                }

                return context.Request.Path == "/quotes/status" ? Results.StatusCode(500) : Results.Text("shadow");
            });
        });
        _gateway = await TestGateway.StartAsync(GatewayConfig.Quotes(_primary.Url)
            .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false)
            .Cluster("shadow", _shadow.Url)
            .Set("Gateway:Clusters:shadow:HealthCheck:Enabled", false)
            .Set("Gateway:Clusters:shadow:CircuitBreaker:Enabled", false)
            .Set("Gateway:Routes:quotes:Mirror:ClusterId", "shadow")
            .Set("Gateway:Limits:RetryBodyBufferLimit", 1024));
    }

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
        await _gateway.DisposeAsync();
        await _shadow.DisposeAsync();
        await _primary.DisposeAsync();
    }

    [Fact]
    public async Task A_copy_of_each_request_reaches_the_mirror_with_its_body_and_the_client_gets_the_routes_answer()
    {
        using (var spoofed = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/who?x=1"))
        {
            spoofed.Headers.Add("X-Gateway-Mirror", "1");
            using var answer = await _gateway.Client.SendAsync(spoofed);
            (await answer.Content.ReadAsStringAsync()).Should().Be("primary");
        }

        using var posted = await _gateway.Client.PostAsync("/api/v1/quotes/status", new StringContent("""{"zip":"01001000"}""", Encoding.UTF8, "application/json"));
        posted.StatusCode.Should().Be(HttpStatusCode.OK, "the mirror's 500 is not the client's answer");
        (await posted.Content.ReadAsStringAsync()).Should().Be("primary");
        var correlationId = posted.Headers.GetValues("X-Correlation-ID").Single();

        await Poll.UntilAsync(() => _copies.Count >= 2, Deadline, "both copies to reach the mirror");
        _copies.Should().ContainSingle(c => c.Method == "GET" && c.PathAndQuery == "/quotes/who?x=1");
        _copies.Should().ContainSingle(c => c.Method == "POST" && c.PathAndQuery == "/quotes/status")
            .Which.Should().Match<(string Method, string PathAndQuery, string Body, string? CorrelationId)>(c => c.Body == """{"zip":"01001000"}""" && c.CorrelationId == correlationId);
        Volatile.Read(ref _unmarked).Should().Be(0, "every copy says it is one");
        _primary.Upstream.Received.Should().NotContain(r => r.Headers.ContainsKey("X-Gateway-Mirror"), "the route's own request is not marked, and a client's mark is dropped");
        await Poll.UntilAsync(async () => System.Text.RegularExpressions.Regex.IsMatch(await _gateway.Client.GetStringAsync("/metrics"),
                """(?m)^gateway_mirror_requests_total\{[^}]*outcome="5xx"[^}]*route="quotes"[^}]*service="shadow"[^}]*\} 1\b"""),
            Deadline, "the mirror's 500 to be counted");
    }

    [Fact]
    public async Task A_mirror_that_does_not_answer_delays_nothing()
    {
        var answered = await _gateway.Client.GetStringAsync("/api/v1/quotes/who?hold=1").WaitAsync(Deadline);

        answered.Should().Be("primary");
        await Poll.UntilAsync(() => _copies.Any(c => c.PathAndQuery == "/quotes/who?hold=1"), Deadline, "the mirror to be holding the copy");
        (await _gateway.Client.GetStringAsync("/api/v1/quotes/who?next").WaitAsync(Deadline)).Should().Be("primary", "a held copy holds up no request");
        _release.TrySetResult();
        await Poll.UntilAsync(async () => System.Text.RegularExpressions.Regex.IsMatch(await _gateway.Client.GetStringAsync("/metrics"),
                """(?m)^gateway_mirror_requests_total\{[^}]*outcome="2xx"[^}]*\} [1-9]"""),
            Deadline, "the released copy to be counted");
    }

    [Fact]
    public async Task A_body_too_large_to_hold_is_forwarded_but_not_copied()
    {
        var large = new string('x', 4096);
        using var posted = await _gateway.Client.PostAsync("/api/v1/quotes/status?large", new StringContent(large));
        posted.StatusCode.Should().Be(HttpStatusCode.OK);
        (await _gateway.Client.GetStringAsync("/api/v1/quotes/who?after")).Should().Be("primary");

        await Poll.UntilAsync(() => _copies.Any(c => c.PathAndQuery == "/quotes/who?after"), Deadline, "the next copy to arrive");
        _copies.Should().NotContain(c => c.PathAndQuery == "/quotes/status?large", "a body the gateway streams cannot be copied");
        (await _gateway.Client.GetStringAsync("/metrics")).Should().MatchRegex("""(?m)^gateway_mirror_requests_total\{[^}]*outcome="skipped"[^}]*\} [1-9]""");
    }

    [Theory]
    [InlineData("ClusterId", "nope", "Mirror:ClusterId")]
    [InlineData("ClusterId", "quote-service", "Mirror:ClusterId")]
    [InlineData("Percent", "0", "Mirror:Percent")]
    [InlineData("Percent", "101", "Mirror:Percent")]
    public void A_bad_mirror_is_named_by_its_key(string key, string value, string named)
    {
        var config = ConfigValidationTests.Valid().Cluster("shadow", "http://127.0.0.1:5109")
            .Set("Gateway:Routes:quotes:Mirror:ClusterId", "shadow")
            .Set($"Gateway:Routes:quotes:Mirror:{key}", value);
        ConfigValidationTests.Errors(config).Should().ContainSingle(e => e.StartsWith($"Gateway:Routes:quotes:{named}:", StringComparison.Ordinal));
    }
}
