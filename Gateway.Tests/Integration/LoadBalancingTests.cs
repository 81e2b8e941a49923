using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Unit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// Selection and health over real upstream sockets: smooth weighted round-robin, power-of-two-choices, active
/// probes and passive detection, instances dying and coming back.
/// </summary>
public sealed class LoadBalancingTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Weights_3_2_1_get_exactly_their_share_in_every_cycle_interleaved()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var b = await NamedUpstream.StartAsync("b");
        await using var c = await NamedUpstream.StartAsync("c");
        var config = GatewayConfig.Quotes(a.Url, b.Url, c.Url)
            .Set("Gateway:Clusters:quote-service:Destinations:quote-service-1:Weight", 3)
            .Set("Gateway:Clusters:quote-service:Destinations:quote-service-2:Weight", 2)
            .Set("Gateway:Clusters:quote-service:Destinations:quote-service-3:Weight", 1)
            .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false);
        await using var gateway = await TestGateway.StartAsync(config);

        var sequence = new List<string>();
        for (var i = 0; i < 480; i++)
        {
            sequence.Add(await gateway.Client.GetStringAsync("/api/v1/quotes/who"));
        }

        sequence.Count(s => s == "a").Should().Be(240);
        sequence.Count(s => s == "b").Should().Be(160);
        sequence.Count(s => s == "c").Should().Be(80);
        // Smooth, not bursty: every cycle of six has exactly 3/2/1, and no instance serves three in a row.
        foreach (var cycle in sequence.Chunk(6))
        {
            cycle.Count(s => s == "a").Should().Be(3);
            cycle.Count(s => s == "b").Should().Be(2);
            cycle.Count(s => s == "c").Should().Be(1);
        }

        LongestRun(sequence).Should().BeLessThanOrEqualTo(2);
    }

    [Fact]
    public async Task An_unhealthy_instance_is_never_picked()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var b = await NamedUpstream.StartAsync("b");
        await using var sick = await NamedUpstream.StartAsync("sick");
        sick.ProbeHangs = true;
        var config = GatewayConfig.Quotes(a.Url, sick.Url, b.Url)
            .Set("Gateway:Clusters:quote-service:HealthCheck:Path", "/probe")
            .Set("Gateway:Clusters:quote-service:HealthCheck:Interval", "00:00:00.100")
            .Set("Gateway:Clusters:quote-service:HealthCheck:Timeout", "00:00:00.200")
            .Set("Gateway:Clusters:quote-service:HealthCheck:UnhealthyThreshold", 1);
        await using var gateway = await TestGateway.StartAsync(config);
        await Poll.UntilAsync(async () => await StatusOf(gateway, "quote-service-2") == "unhealthy", Deadline, "the sick instance's probe to time out");

        var answers = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            answers.Add(await gateway.Client.GetStringAsync("/api/v1/quotes/who"));
        }

        answers.Should().NotContain("sick");
        answers.Count(x => x == "a").Should().Be(20);
        answers.Count(x => x == "b").Should().Be(20);
    }

    [Fact]
    public async Task Power_of_two_choices_sends_new_requests_to_the_instance_with_nothing_in_flight()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var b = await NamedUpstream.StartAsync("b");
        var config = GatewayConfig.Quotes(a.Url, b.Url)
            .Set("Gateway:Clusters:quote-service:LoadBalancingPolicy", "PowerOfTwoChoices")
            .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false);
        await using var gateway = await TestGateway.StartAsync(config);

        var held = gateway.Client.GetStringAsync("/api/v1/quotes/hold");
        await Task.WhenAny(a.Holding.Task, b.Holding.Task).WaitAsync(Deadline);
        var busy = a.Holding.Task.IsCompleted ? a : b;
        var idle = busy == a ? b : a;

        var answers = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            answers.Add(await gateway.Client.GetStringAsync("/api/v1/quotes/who"));
        }

        answers.Should().AllBe(idle.Name, "the other instance has a request in flight");
        busy.Release.TrySetResult();
        (await held.WaitAsync(Deadline)).Should().Be(busy.Name);
    }

    [Fact]
    public async Task A_killed_instance_leaves_rotation_under_load_and_rejoins_when_it_restarts()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var b = await NamedUpstream.StartAsync("b");
        var c = await NamedUpstream.StartAsync("c");
        var cPort = c.Port;
        var config = GatewayConfig.Quotes(a.Url, b.Url, c.Url)
            .Set("Gateway:Routes:quotes:Retries", 2)
            .Set("Gateway:Routes:quotes:RetryDelay", "00:00:00.010")
            .Set("Gateway:Clusters:quote-service:HealthCheck:Interval", "00:00:00.200")
            .Set("Gateway:Clusters:quote-service:HealthCheck:Timeout", "00:00:00.500")
            .Set("Gateway:Clusters:quote-service:HealthCheck:UnhealthyThreshold", 1)
            .Set("Gateway:Clusters:quote-service:HealthCheck:HealthyThreshold", 2);
        await using var gateway = await TestGateway.StartAsync(config);

        await c.DisposeAsync();
        // Bounded load right after the kill, before a probe may have noticed: 8 clients × 15 GETs.
        var statuses = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            var seen = new List<HttpStatusCode>();
            for (var i = 0; i < 15; i++)
            {
                using var response = await gateway.Client.GetAsync("/api/v1/quotes/who");
                seen.Add(response.StatusCode);
            }

            return seen;
        }));
        statuses.SelectMany(s => s).Should().AllSatisfy(s => s.Should().Be(HttpStatusCode.OK), "GETs are retried on a live instance");
        (await StatusOf(gateway, "quote-service-3")).Should().Be("unhealthy");

        await using var revived = await NamedUpstream.StartAsync("c", cPort);
        await Poll.UntilAsync(async () => await StatusOf(gateway, "quote-service-3") == "healthy", Deadline, "the restarted instance to pass its probes");
        var after = new List<string>();
        for (var i = 0; i < 9; i++)
        {
            after.Add(await gateway.Client.GetStringAsync("/api/v1/quotes/who"));
        }

        after.Should().Contain("c", "a healthy instance is back in rotation");
    }

    [Fact]
    public async Task Probes_mark_unhealthy_after_N_failures_and_healthy_after_M_successes_and_a_hanging_instance_delays_no_other()
    {
        await using var hanging = await NamedUpstream.StartAsync("hanging");
        await using var fine = await NamedUpstream.StartAsync("fine");
        var config = GatewayConfig.Quotes(hanging.Url, fine.Url)
            .Set("Gateway:Clusters:quote-service:HealthCheck:Path", "/probe")
            .Set("Gateway:Clusters:quote-service:HealthCheck:Interval", "00:00:00.100")
            .Set("Gateway:Clusters:quote-service:HealthCheck:Timeout", "00:00:03")
            .Set("Gateway:Clusters:quote-service:HealthCheck:UnhealthyThreshold", 2)
            .Set("Gateway:Clusters:quote-service:HealthCheck:HealthyThreshold", 3);
        hanging.ProbeHangs = true;
        await using var gateway = await TestGateway.StartAsync(config);

        // While the first instance's probe hangs (up to its 3 s timeout), the other keeps being probed every 100 ms.
        await hanging.ProbeStarted.Task.WaitAsync(Deadline);
        var before = fine.Probes;
        var hangingBefore = hanging.Probes;
        await Poll.UntilAsync(() => fine.Probes >= before + 5, TimeSpan.FromSeconds(2.5), "five probes of the healthy instance during one hanging probe");
        hanging.Probes.Should().Be(hangingBefore, "the hanging probe has not finished, so the other instance's probes did not wait for it");

        await Poll.UntilAsync(async () => await StatusOf(gateway, "quote-service-1") == "unhealthy", Deadline, "two failed probes");
        // Counted before the probes stop hanging: a success between the two lines would go uncounted, and the
        // three the gateway needs would read as two.
        var recoveredAfter = hanging.SuccessfulProbes;
        hanging.ProbeHangs = false;
        await Poll.UntilAsync(async () => await StatusOf(gateway, "quote-service-1") == "healthy", Deadline, "three successful probes");
        (hanging.SuccessfulProbes - recoveredAfter).Should().BeGreaterThanOrEqualTo(3);
    }

    [Fact]
    public async Task One_request_retried_on_the_same_instance_counts_against_it_once()
    {
        await using var only = await NamedUpstream.StartAsync("only");
        only.Status = 500;
        // Passive detection alone (no probes, no breaker), at its shipped threshold of two failures in a row.
        var config = GatewayConfig.Quotes(only.Url)
            .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false)
            .Set("Gateway:Clusters:quote-service:CircuitBreaker:Enabled", false)
            .Set("Gateway:Routes:quotes:Retries", 3)
            .Set("Gateway:Routes:quotes:RetryDelay", "00:00:00.010");
        await using var gateway = await TestGateway.StartAsync(config);

        using (var response = await gateway.Client.GetAsync("/api/v1/quotes/status"))
        {
            response.StatusCode.Should().Be(HttpStatusCode.InternalServerError, "the upstream's own answer, once its retries are spent");
        }

        only.Upstream.Count("/quotes/status").Should().Be(4, "one attempt and three retries, all on the only instance");
        (await StatusOf(gateway, "quote-service-1")).Should().NotBe("unhealthy", "one request is one failure");

        using (await gateway.Client.GetAsync("/api/v1/quotes/status"))
        {
        }

        (await StatusOf(gateway, "quote-service-1")).Should().Be("unhealthy", "a second request answered 5xx makes two in a row");
    }

    [Fact]
    public async Task No_healthy_instance_is_a_503_problem_with_retry_after_and_no_upstream_call()
    {
        var only = await NamedUpstream.StartAsync("only");
        var config = GatewayConfig.Quotes(only.Url)
            .Set("Gateway:Clusters:quote-service:HealthCheck:Interval", "00:00:00.100")
            .Set("Gateway:Clusters:quote-service:HealthCheck:UnhealthyThreshold", 1);
        await using var gateway = await TestGateway.StartAsync(config);
        await only.DisposeAsync();

        await Poll.UntilAsync(async () => await StatusOf(gateway, "quote-service-1") == "unhealthy", Deadline, "the probe to fail");
        using var response = await gateway.Client.GetAsync("/api/v1/quotes/who");
        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter.Should().NotBeNull();
        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, 503);
        problem.GetProperty("title").GetString().Should().Be("Service Unavailable");
    }

    [Fact]
    public async Task A_backup_destination_takes_requests_only_while_no_primary_can()
    {
        await using var a = await NamedUpstream.StartAsync("a");
        await using var b = await NamedUpstream.StartAsync("b");
        await using var standby = await NamedUpstream.StartAsync("standby");
        await using var gateway = await TestGateway.StartAsync(GatewayConfig.Quotes(a.Url, b.Url)
            .Set("Gateway:Clusters:quote-service:Destinations:standby:Address", standby.Url)
            .Set("Gateway:Clusters:quote-service:Destinations:standby:Backup", true)
            .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false)
            .Set("Gateway:Clusters:quote-service:HealthCheck:UnhealthyThreshold", 1000)
            .Set("Gateway:Clusters:quote-service:CircuitBreaker:Enabled", false)
            .Set("Gateway:Routes:quotes:Retries", 1)
            .Set("Gateway:Routes:quotes:RetryDelay", "00:00:00.010"));

        (await gateway.GetStringsAsync("/api/v1/quotes/status", 6)).Should().BeEquivalentTo(["a", "b", "a", "b", "a", "b"], "the backup takes nothing while the primaries can");

        await gateway.Client.PostAsync("/admin/services/quote-service/instances/quote-service-2/drain", content: null);
        a.Status = 503;
        (await gateway.GetStringsAsync("/api/v1/quotes/status", 4)).Should().AllBe("standby", "a failed attempt on the one primary left is retried on the backup");
        a.Upstream.Count("/quotes/status").Should().Be(3 + 4);

        await gateway.Client.PostAsync("/admin/services/quote-service/instances/quote-service-1/drain", content: null);
        (await gateway.GetStringsAsync("/api/v1/quotes/status", 3)).Should().AllBe("standby", "with no primary in rotation, the backup takes every request");
        a.Upstream.Count("/quotes/status").Should().Be(7);
        using (var health = await gateway.Client.GetAsync("/health"))
        {
            health.StatusCode.Should().Be(HttpStatusCode.OK, "the service is still served");
            var service = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").GetProperty("microservices").GetProperty("quote-service");
            service.GetProperty("status").GetString().Should().Be("degraded");
            service.GetProperty("description").GetString().Should().Contain("backup instances only");
        }

        a.Status = 200;
        await gateway.Client.DeleteAsync("/admin/services/quote-service/instances/quote-service-1/drain");
        (await gateway.GetStringsAsync("/api/v1/quotes/status", 3)).Should().AllBe("a", "the primary takes its requests back");
        standby.Upstream.Count("/quotes/status").Should().Be(7);
    }

    [Fact]
    public void A_cluster_of_backups_only_is_refused_at_start_up()
    {
        var config = ConfigValidationTests.Valid().Set("Gateway:Clusters:quote-service:Destinations:quote-service-1:Backup", true);
        ConfigValidationTests.Errors(config).Should().ContainSingle(e => e.StartsWith("Gateway:Clusters:quote-service:Destinations: every destination is a backup", StringComparison.Ordinal));
        ConfigValidationTests.Errors(config.Set("Gateway:Clusters:quote-service:Destinations:primary:Address", "http://127.0.0.1:5102")).Should().BeEmpty();
    }

    internal static async Task<string?> StatusOf(TestGateway gateway, string instanceId)
    {
        var services = await gateway.Client.GetFromJsonAsync<JsonElement>("/admin/services");
        return services.EnumerateArray()
            .SelectMany(s => s.GetProperty("instances").EnumerateArray())
            .Where(i => i.GetProperty("id").GetString() == instanceId)
            .Select(i => i.GetProperty("status").GetString())
            .SingleOrDefault();
    }

    private static int LongestRun(IReadOnlyList<string> sequence)
    {
        int longest = 0, run = 0;
        for (var i = 0; i < sequence.Count; i++)
        {
            run = i > 0 && sequence[i] == sequence[i - 1] ? run + 1 : 1;
            longest = Math.Max(longest, run);
        }

        return longest;
    }
}

/// <summary>A recording upstream that says who it is, can hold a request, and can fail or hang its probe on cue.</summary>
internal sealed class NamedUpstream : IAsyncDisposable
{
    private TestUpstream _upstream = null!;
    private int _probes;
    private int _successfulProbes;

    private NamedUpstream(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public string Url => _upstream.Url;

    public int Port => _upstream.Port;

    public TestUpstream Upstream => _upstream;

    public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource ProbeStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public volatile bool ProbeHangs;

    /// <summary>The status <c>/quotes/status</c> answers with (changeable mid-test).</summary>
    public volatile int Status = 200;

    public int Probes => Volatile.Read(ref _probes);

    public int SuccessfulProbes => Volatile.Read(ref _successfulProbes);

    public static async Task<NamedUpstream> StartAsync(string name, int port = 0)
    {
        var named = new NamedUpstream(name);
        named._upstream = await TestUpstream.StartAsync(app =>
        {
            app.MapGet("/quotes/who", () => name);
            app.MapMethods("/quotes/status", ["GET", "POST", "PUT"], () => Results.Text(name, statusCode: named.Status));
            app.MapPost("/quotes/reset", (HttpContext context) => context.Abort());
            app.MapMethods("/quotes/hold", ["GET", "POST"], async () =>
            {
                named.Holding.TrySetResult();
                await named.Release.Task.WaitAsync(TimeSpan.FromSeconds(30));
                return name;
            });
            app.MapGet("/probe", async (HttpContext context) =>
            {
                Interlocked.Increment(ref named._probes);
                if (named.ProbeHangs)
                {
                    named.ProbeStarted.TrySetResult();
                    await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(static _ => { }, TaskScheduler.Default);
                    return Results.StatusCode(503);
                }

                Interlocked.Increment(ref named._successfulProbes);
                return Results.Ok();
            });
        }, port);
        return named;
    }

    public ValueTask DisposeAsync() => _upstream.DisposeAsync();
}
