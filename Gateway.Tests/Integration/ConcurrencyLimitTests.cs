using System.Net;
using FluentAssertions;
using Gateway.Core.Discovery;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Unit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Polly.CircuitBreaker;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// A cluster's <c>MaxConcurrentRequests</c> (a bulkhead): calls beyond it wait in a queue of <c>MaxQueuedRequests</c>,
/// and beyond that get a 503 problem at once, without an upstream call and without counting against the breaker.
/// </summary>
public sealed class ConcurrencyLimitTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TestUpstream _upstream = null!;
    private int _arrived;

    public async Task InitializeAsync() => _upstream = await TestUpstream.StartAsync(app => app.MapGet("/svc/hold", async (HttpContext context) =>
    {
        Interlocked.Increment(ref _arrived);
        await _release.Task.WaitAsync(context.RequestAborted);
        return Results.Ok();
    }));

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
        await _upstream.DisposeAsync();
    }

    private Task<TestGateway> StartAsync(int queue) => TestGateway.StartAsync(new GatewayConfig()
        .Route("svc", "/api/svc/{**rest}", "svc", "GET").Set("Gateway:Routes:svc:Transform:PathRemovePrefix", "/api")
        .Cluster("svc", _upstream.Url)
        .Set("Gateway:Clusters:svc:HealthCheck:Enabled", false)
        .Set("Gateway:Clusters:svc:MaxConcurrentRequests", 1)
        .Set("Gateway:Clusters:svc:MaxQueuedRequests", queue)
        .Set("Gateway:Clusters:svc:CircuitBreaker:Enabled", true)
        .Set("Gateway:Clusters:svc:CircuitBreaker:MinimumThroughput", 2)
        .Set("Gateway:Clusters:svc:CircuitBreaker:FailureRatio", 0.5));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Calls_beyond_the_limit_and_its_queue_get_a_503_at_once_and_the_rest_complete(int queue)
    {
        await using var gateway = await StartAsync(queue);
        var held = gateway.Client.GetAsync("/api/svc/hold");
        await Poll.UntilAsync(() => Volatile.Read(ref _arrived) == 1, Deadline, "the first call to reach the service");
        var instance = gateway.Services.GetRequiredService<ServiceRegistry>().Get("svc").Instances.Single();

        // Sent at once: whichever reach the limiter first fill the queue; the others are refused.
        var more = Enumerable.Range(0, queue + 4).Select(_ => gateway.Client.GetAsync("/api/svc/hold")).ToArray();
        await Poll.UntilAsync(() => more.Count(call => call.IsCompleted) == 4, Deadline, "four calls to be refused");
        foreach (var call in more.Where(call => call.IsCompleted))
        {
            using var refused = await call;
            var problem = await ProblemAssertions.ShouldBeProblemAsync(refused, 503);
            problem.GetProperty("detail").GetString().Should().Contain("as many calls open");
            refused.Headers.RetryAfter.Should().NotBeNull();
        }

        var queued = more.Where(call => !call.IsCompleted).ToArray();
        queued.Should().HaveCount(queue);
        Volatile.Read(ref _arrived).Should().Be(1, "the queued call waits and the refused ones never leave the gateway");
        instance.InFlight.Should().Be(1);
        _release.SetResult();
        foreach (var call in (Task<HttpResponseMessage>[])[held, .. queued])
        {
            using var response = await call.WaitAsync(Deadline);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        Volatile.Read(ref _arrived).Should().Be(1 + queue);
        gateway.Services.GetRequiredService<ServiceRegistry>().BreakerState("svc").Should().Be(CircuitState.Closed, "a refusal of the gateway's own is no failure of the service");
        using var after = await gateway.Client.GetAsync("/api/svc/hold");
        after.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("MaxConcurrentRequests", "0")]
    [InlineData("MaxQueuedRequests", "-1")]
    [InlineData("MaxQueuedRequests", "5")]
    public void A_bad_limit_is_named_by_its_key(string key, string value) =>
        ConfigValidationTests.Errors(ConfigValidationTests.Valid().Set($"Gateway:Clusters:quote-service:{key}", value))
            .Should().ContainSingle(e => e.StartsWith($"Gateway:Clusters:quote-service:{key}:", StringComparison.Ordinal));
}
