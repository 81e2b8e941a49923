using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// The seed's end-to-end scenarios: SmartEnvios' three services as real processes of samples/Upstreams, the
/// gateway with the shipped appsettings.json pointed at them, real Redis for rate limits and idempotency.
/// </summary>
public sealed class FreightFlowTests : IAsyncLifetime
{
    private const string QuoteBody = """{"zip_code_start":"01310-100","zip_code_end":"20040-002","volumes":[{"quantity":1,"weight":2.5,"height":10,"width":20,"length":30}],"amount":150}""";
    private const string FlowBody = """{"zip_code_start":"01310-100","zip_code_end":"20040-002","volumes":[{"quantity":1,"weight":2.5,"height":10,"width":20,"length":30}],"amount":150,"customer_id":"c-1","selection":"cheapest"}""";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, (ExternalProcess Process, int Port)> _services = [];
    private RedisServer _redis = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        foreach (var service in new[] { "quotes", "tracking", "contracts" })
        {
            var port = Ports.Free();
            _services[service] = (await StartServiceAsync(service, port), port);
        }

        _gateway = await StartGatewayAsync(quotesPerMinute: 100);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        foreach (var (process, _) in _services.Values)
        {
            await process.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task The_complete_flow_through_proxied_routes_as_in_PRD_007()
    {
        var token = Tokens.Hs256(new { sub = "c-1" });
        using var quote = await Post("/api/v1/quotes/calculate", QuoteBody, null);
        quote.StatusCode.Should().Be(HttpStatusCode.OK);
        var services = (await Json(quote)).GetProperty("data").GetProperty("services");
        services.GetArrayLength().Should().BeGreaterThan(0);
        var serviceId = services[0].GetProperty("serviceId").GetString();

        using var created = await Post("/api/v1/contracts", "{\"quote_service_id\":\"" + serviceId + "\",\"customer_id\":\"c-1\",\"type\":\"standard\",\"freightContentStatement\":{}}", token);
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var contractId = (await Json(created)).GetProperty("data").GetProperty("id").GetString();
        contractId.Should().NotBeNullOrEmpty();
        created.Headers.Location.Should().Be(new Uri($"/api/v1/contracts/{contractId}", UriKind.Relative), "the service's /contracts/{id}, through the route");

        using var confirmed = await Post($"/api/v1/contracts/{contractId}/confirm", "{}", token);
        confirmed.StatusCode.Should().Be(HttpStatusCode.OK);
        var contract = (await Json(confirmed)).GetProperty("data");
        contract.GetProperty("status").GetString().Should().Be("confirmed");
        var code = contract.GetProperty("trackingCode").GetString();
        code.Should().NotBeNullOrEmpty();
        contract.GetProperty("documents").GetArrayLength().Should().BeGreaterThan(0);

        using var registered = await Post("/api/v1/tracking", $$"""{"trackingCode":"{{code}}"}""", null);
        registered.IsSuccessStatusCode.Should().BeTrue();
        using var tracking = await _gateway.Client.GetAsync($"/api/v1/tracking/{code}");
        tracking.StatusCode.Should().Be(HttpStatusCode.OK);
        (await Json(tracking)).GetProperty("data").GetProperty("code").GetString().Should().Be(code);
        using var refreshed = await Post($"/api/v1/tracking/{code}/refresh", "{}", null);
        refreshed.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_live_tracking_feed_opens_through_the_shipped_route_and_follows_each_refresh()
    {
        var code = $"SELIVE{Environment.TickCount64 % 1_000_000:D6}BR";
        using var registered = await Post("/api/v1/tracking", $$"""{"trackingCode":"{{code}}"}""", null);
        registered.StatusCode.Should().Be(HttpStatusCode.Created);

        using var live = new System.Net.WebSockets.ClientWebSocket();
        await live.ConnectAsync(new Uri($"ws://127.0.0.1:{_gateway.Port}/api/v1/tracking/{code}/live"), CancellationToken.None);
        (await LiveStatusAsync(live)).Should().Be("registered");

        using var refreshed = await Post($"/api/v1/tracking/{code}/refresh", "{}", null);
        refreshed.StatusCode.Should().Be(HttpStatusCode.OK);
        (await LiveStatusAsync(live)).Should().Be("in_transit", "the feed follows a change made through another request");

        await live.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        live.CloseStatus.Should().Be(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure);
    }

    private static async Task<string?> LiveStatusAsync(System.Net.WebSockets.ClientWebSocket live)
    {
        var buffer = new byte[64 * 1024];
        var result = await live.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Deadline);
        result.EndOfMessage.Should().BeTrue();
        return JsonDocument.Parse(buffer.AsMemory(0, result.Count)).RootElement.GetProperty("data").GetProperty("status").GetString();
    }

    [Fact]
    public async Task The_flow_endpoint_runs_every_step_once_per_idempotency_key_even_when_repeated_concurrently()
    {
        var token = Tokens.Hs256(new { sub = "c-1" });
        var before = await Count("contracts", "POST /contracts");

        using var first = await Flow(token, "flow-seq", FlowBody);
        first.StatusCode.Should().Be(HttpStatusCode.OK);
        var result = await Json(first);
        result.GetProperty("flowId").GetString().Should().NotBeNullOrEmpty();
        result.GetProperty("quote").GetProperty("services").GetArrayLength().Should().BeGreaterThan(0);
        result.GetProperty("contract").GetProperty("status").GetString().Should().Be("confirmed");
        var code = result.GetProperty("contract").GetProperty("trackingCode").GetString();
        result.GetProperty("tracking").GetProperty("code").GetString().Should().Be(code);
        result.GetProperty("documents").GetArrayLength().Should().BeGreaterThan(0);

        using var replay = await Flow(token, "flow-seq", FlowBody);
        replay.StatusCode.Should().Be(HttpStatusCode.OK);
        replay.Headers.Contains("Idempotent-Replayed").Should().BeTrue();
        (await replay.Content.ReadAsStringAsync()).Should().Be(result.GetRawText());
        (await Count("contracts", "POST /contracts")).Should().Be(before + 1, "the replay created nothing");

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Flow(token, "flow-concurrent", FlowBody)));
        try
        {
            concurrent.Should().Contain(r => r.StatusCode == HttpStatusCode.OK);
            concurrent.Should().AllSatisfy(r => r.StatusCode.Should().BeOneOf(HttpStatusCode.OK, HttpStatusCode.Conflict));
            (await Count("contracts", "POST /contracts")).Should().Be(before + 2, "five concurrent requests with one key create one contract");
        }
        finally
        {
            concurrent.ToList().ForEach(r => r.Dispose());
        }

        using var otherBody = await Flow(token, "flow-seq", FlowBody.Replace("\"amount\":150", "\"amount\":151", StringComparison.Ordinal));
        await ProblemAssertions.ShouldBeProblemAsync(otherBody, 422);
        using var noKey = await Flow(token, null, FlowBody);
        await ProblemAssertions.ShouldBeProblemAsync(noKey, 400);
        using var anonymous = await Flow(null, "flow-anon", FlowBody);
        anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    public static TheoryData<string, string> InvalidBodies() => new()
    {
        { "bad start CEP", FlowBody.Replace("01310-100", "0131-0100", StringComparison.Ordinal) },
        { "bad end CEP", FlowBody.Replace("20040-002", "abcde-fgh", StringComparison.Ordinal) },
        { "no volumes", FlowBody.Replace("""[{"quantity":1,"weight":2.5,"height":10,"width":20,"length":30}]""", "[]", StringComparison.Ordinal) },
        { "zero quantity", FlowBody.Replace("\"quantity\":1", "\"quantity\":0", StringComparison.Ordinal) },
        { "negative weight", FlowBody.Replace("\"weight\":2.5", "\"weight\":-1", StringComparison.Ordinal) },
        { "huge dimension", FlowBody.Replace("\"length\":30", "\"length\":100000", StringComparison.Ordinal) },
        { "negative amount", FlowBody.Replace("\"amount\":150", "\"amount\":-1", StringComparison.Ordinal) },
        { "no customer", FlowBody.Replace("\"customer_id\":\"c-1\",", string.Empty, StringComparison.Ordinal) },
        // Names match exactly: to a case-sensitive service this body has no amount at all.
        { "amount named in capitals", FlowBody.Replace("\"amount\":150", "\"AMOUNT\":150", StringComparison.Ordinal) },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Invalid_requests_are_400_with_field_errors_and_call_no_service(string name, string body)
    {
        var token = Tokens.Hs256(new { sub = "c-1" });
        var quotesBefore = await Count("quotes", "POST /quotes/calculate");
        using var flow = await Flow(token, "invalid-" + Guid.NewGuid().ToString("N"), body);
        var problem = await ProblemAssertions.ShouldBeProblemAsync(flow, 400);
        problem.GetProperty("errors").EnumerateObject().Should().NotBeEmpty(name);

        if (name != "no customer")
        {
            using var proxied = await Post("/api/v1/quotes/calculate", body, null);
            (await ProblemAssertions.ShouldBeProblemAsync(proxied, 400)).GetProperty("errors").EnumerateObject().Should().NotBeEmpty(name);
        }

        (await Count("quotes", "POST /quotes/calculate")).Should().Be(quotesBefore, $"{name}: the quote service is not called");
    }

    [Fact]
    public async Task A_body_with_a_byte_order_mark_is_validated_and_passed_on_as_sent()
    {
        byte[] body = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(QuoteBody)];
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _gateway.Client.PostAsync("/api/v1/quotes/calculate", content);
        response.StatusCode.Should().Be(HttpStatusCode.OK, "RFC 8259 lets a parser ignore the mark, and the service does");
    }

    [Theory]
    [InlineData("malformed JSON", "{\"zip_code_start\":", "application/json", 400)]
    [InlineData("not JSON at all", "zip=01310100", "application/x-www-form-urlencoded", 415)]
    [InlineData("wrong types", "{\"zip_code_start\":1310100,\"zip_code_end\":true,\"volumes\":\"many\",\"amount\":\"abc\",\"customer_id\":\"c-1\"}", "application/json", 400)]
    [InlineData("empty body", "", "application/json", 400)]
    // Valid if the last value wins, as System.Text.Json reads it; a service whose parser keeps the first would get -5.
    [InlineData("a property given twice", """{"amount":-5,"zip_code_start":"01310-100","zip_code_end":"20040-002","volumes":[{"quantity":1,"weight":2.5,"height":10,"width":20,"length":30}],"amount":150,"customer_id":"c-1","selection":"cheapest"}""", "application/json", 400)]
    // A string is not a number to a strict service, whatever the gateway's reader would make of it.
    [InlineData("a number given as a string", """{"zip_code_start":"01310-100","zip_code_end":"20040-002","volumes":[{"quantity":1,"weight":"2.5","height":10,"width":20,"length":30}],"amount":150,"customer_id":"c-1","selection":"cheapest"}""", "application/json", 400)]
    public async Task Malformed_bodies_are_4xx_problems_never_500(string name, string body, string contentType, int status)
    {
        var token = Tokens.Hs256(new { sub = "c-1" });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/flows/freight") { Content = new StringContent(body, Encoding.UTF8, contentType) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        using var response = await _gateway.Client.SendAsync(request);
        response.StatusCode.Should().Be((HttpStatusCode)status, name);
        await ProblemAssertions.ShouldBeProblemAsync(response, status);

        using var proxied = await _gateway.Client.PostAsync("/api/v1/quotes/calculate", new StringContent(body, Encoding.UTF8, contentType));
        await ProblemAssertions.ShouldBeProblemAsync(proxied, status);
    }

    [Fact]
    public async Task An_idempotency_store_that_fails_refuses_the_flow_with_a_503_problem_and_starts_nothing()
    {
        // Token checks fail open here, so the request gets as far as claiming its key with Redis down.
        await _gateway.DisposeAsync();
        _gateway = await StartGatewayAsync(quotesPerMinute: 100, ("Gateway:Auth:StoreFailureMode", "FailOpen"));
        var token = Tokens.Hs256(new { sub = "c-store" });
        var key = Guid.NewGuid().ToString();
        var quotesBefore = await Count("quotes", "POST /quotes/calculate");

        await _redis.StopAsync();
        using (var refused = await Flow(token, key, FlowBody))
        {
            var problem = await ProblemAssertions.ShouldBeProblemAsync(refused, 503);
            problem.GetProperty("code").GetString().Should().Be("idempotency_store_unavailable");
            refused.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(5));
        }

        (await Count("quotes", "POST /quotes/calculate")).Should().Be(quotesBefore, "no step ran without its key claimed");

        await _redis.RestartAsync();
        await Poll.UntilAsync(async () =>
        {
            using var again = await Flow(token, key, FlowBody);
            return again.StatusCode == HttpStatusCode.OK;
        }, Deadline, "the same key to run the flow once Redis is back");
    }

    [Fact]
    public async Task Idempotency_keys_of_two_users_never_meet_even_when_subject_and_key_hold_colons()
    {
        // Joined with ':' alone, ("a", "b:c") and ("a:b", "c") were one stored key: the second user got the first's
        // answer replayed, contract and tracking code included.
        var body = FlowBody.Replace("\"customer_id\":\"c-1\"", "\"customer_id\":\"c-colon\"", StringComparison.Ordinal);
        using var first = await Flow(Tokens.Hs256(new { sub = "a" }), "b:c", body);
        first.StatusCode.Should().Be(HttpStatusCode.OK);
        using var second = await Flow(Tokens.Hs256(new { sub = "a:b" }), "c", body);
        second.StatusCode.Should().Be(HttpStatusCode.OK);
        second.Headers.Contains("Idempotent-Replayed").Should().BeFalse("the second user's key is their own");
        (await Json(second)).GetProperty("flowId").GetString().Should().NotBe((await Json(first)).GetProperty("flowId").GetString());
    }

    [Fact]
    public async Task A_body_Kestrel_cannot_read_is_a_400_problem_on_the_validated_route_and_the_flow()
    {
        var token = Tokens.Hs256(new { sub = "c-1" });
        var quotesBefore = await Count("quotes", "POST /quotes/calculate");
        // "zz" is not a chunk size: Kestrel throws while the body is read for validation.
        const string badChunks = "zz\r\n{}\r\n0\r\n\r\n";
        foreach (var (path, extra) in new[]
        {
            ("/api/v1/quotes/calculate", string.Empty),
            ("/api/v1/flows/freight", $"Authorization: Bearer {token}\nIdempotency-Key: {Guid.NewGuid()}\n"),
        })
        {
            var response = await RawHttp.SendAsync(_gateway.Port,
                $"POST {path} HTTP/1.1\nHost: gateway\nContent-Type: application/json\nTransfer-Encoding: chunked\n{extra}", badChunks);
            response.Status.Should().Be(400, path);
            response.Head.Should().Contain("Content-Type: application/problem+json", path);
            var problem = JsonDocument.Parse(response.Body.Contains("\r\n", StringComparison.Ordinal) ? Dechunk(response.Body) : response.Body).RootElement;
            problem.GetProperty("correlationId").GetString().Should().NotBeNullOrEmpty(path);
        }

        (await Count("quotes", "POST /quotes/calculate")).Should().Be(quotesBefore, "an unreadable body reaches no service");
    }

    private static string Dechunk(string body)
    {
        var text = new StringBuilder();
        var at = 0;
        while (true)
        {
            var end = body.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = int.Parse(body.AsSpan(at, end - at), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                return text.ToString();
            }

            text.Append(body, end + 2, size);
            at = end + 2 + size + 2;
        }
    }

    [Fact]
    public async Task An_over_cap_body_is_413_a_huge_array_included()
    {
        var token = Tokens.Hs256(new { sub = "c-1" });
        var volumes = string.Join(',', Enumerable.Repeat("""{"quantity":1,"weight":2.5,"height":10,"width":20,"length":30}""", 5000));
        using (var huge = await Flow(token, "huge", FlowBody.Replace("""[{"quantity":1,"weight":2.5,"height":10,"width":20,"length":30}]""", "[" + volumes + "]", StringComparison.Ordinal)))
        {
            await ProblemAssertions.ShouldBeProblemAsync(huge, 413);
        }

        var big = FlowBody.Replace("\"selection\":\"cheapest\"", "\"selection\":\"cheapest\",\"padding\":\"" + new string('x', 100_000) + "\"", StringComparison.Ordinal);
        using var response = await Flow(token, "big", big);
        await ProblemAssertions.ShouldBeProblemAsync(response, 413);
    }

    [Fact]
    public async Task A_failing_step_is_a_502_naming_the_step_and_the_ids_already_created()
    {
        var token = Tokens.Hs256(new { sub = "c-1" });
        await _services["tracking"].Process.DisposeAsync();
        try
        {
            using var response = await Flow(token, "tracking-down", FlowBody);
            var problem = await ProblemAssertions.ShouldBeProblemAsync(response, 502);
            var text = problem.GetRawText();
            text.Should().Contain("tracking", "the failed step is named");
            problem.GetProperty("step").GetString().Should().Be("tracking");
            problem.GetProperty("created").GetProperty("contractId").GetString().Should().NotBeNullOrEmpty("the contract created before the failure is reported");
            problem.GetProperty("created").GetProperty("trackingCode").GetString().Should().NotBeNullOrEmpty();
        }
        finally
        {
            _services["tracking"] = (await StartServiceAsync("tracking", _services["tracking"].Port), _services["tracking"].Port);
        }
    }

    [Fact]
    public async Task A_stopped_quote_service_is_503_and_serves_again_after_it_restarts_without_a_gateway_restart()
    {
        var port = _services["quotes"].Port;
        await _services["quotes"].Process.DisposeAsync();
        await Poll.UntilAsync(async () =>
        {
            using var response = await Post("/api/v1/quotes/calculate", QuoteBody, null);
            return response.StatusCode == HttpStatusCode.ServiceUnavailable;
        }, Deadline, "the stopped quote service to leave rotation");
        using (var unavailable = await Post("/api/v1/quotes/calculate", QuoteBody, null))
        {
            (await ProblemAssertions.ShouldBeProblemAsync(unavailable, 503)).GetProperty("title").GetString().Should().Be("Service Unavailable");
        }

        _services["quotes"] = (await StartServiceAsync("quotes", port), port);
        await Poll.UntilAsync(async () =>
        {
            using var response = await Post("/api/v1/quotes/calculate", QuoteBody, null);
            return response.StatusCode == HttpStatusCode.OK;
        }, Deadline, "the restarted quote service to serve again");
    }

    [Fact]
    public async Task The_seeds_101_concurrent_quotes_get_some_429s()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 101).Select(_ => Post("/api/v1/quotes/calculate", QuoteBody, null)));
        try
        {
            var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
            refused.Should().NotBeEmpty();
            refused.Should().AllSatisfy(r => r.Headers.Contains("X-RateLimit-Limit").Should().BeTrue());
            responses.Should().AllSatisfy(r => r.StatusCode.Should().BeOneOf(HttpStatusCode.OK, HttpStatusCode.TooManyRequests));
        }
        finally
        {
            responses.ToList().ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task One_hundred_users_times_ten_quotes_succeed_over_95_percent_with_mean_under_a_second()
    {
        await using var roomy = await StartGatewayAsync(quotesPerMinute: 100_000);
        var latencies = new System.Collections.Concurrent.ConcurrentBag<(bool Ok, double Ms)>();
        await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            for (var i = 0; i < 10; i++)
            {
                var clock = Stopwatch.StartNew();
                using var response = await roomy.Client.PostAsync("/api/v1/quotes/calculate", new StringContent(QuoteBody, Encoding.UTF8, "application/json"));
                latencies.Add((response.StatusCode == HttpStatusCode.OK, clock.Elapsed.TotalMilliseconds));
            }
        }));

        latencies.Should().HaveCount(1000);
        latencies.Count(l => l.Ok).Should().BeGreaterThan(950);
        latencies.Average(l => l.Ms).Should().BeLessThan(1000);
    }

    private async Task<TestGateway> StartGatewayAsync(int quotesPerMinute, params (string Key, string Value)[] settings)
    {
        var overrides = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Gateway:Auth:SigningKey"] = Tokens.Secret,
            ["Gateway:Redis:Configuration"] = _redis.Configuration,
            ["Gateway:Redis:KeyPrefix"] = $"gw-{Guid.NewGuid():N}:",
            // A loaded test machine must not turn these scenarios into the (separately tested) slow-Redis fail-open path.
            ["Gateway:Redis:OperationTimeout"] = "00:00:05",
            ["Gateway:RateLimiting:Policies:quotes:PermitLimit"] = quotesPerMinute.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (cluster, destination, service) in new[] { ("quote-service", "quotes-1", "quotes"), ("tracking-service", "tracking-1", "tracking"), ("contract-service", "contracts-1", "contracts") })
        {
            overrides[$"Gateway:Clusters:{cluster}:Destinations:{destination}:Address"] = $"http://127.0.0.1:{_services[service].Port}";
            overrides[$"Gateway:Clusters:{cluster}:HealthCheck:Interval"] = "00:00:00.500";
        }

        foreach (var (name, value) in settings)
        {
            overrides[name] = value;
        }

        return await TestGateway.StartAsync(new GatewayConfig(), builder => builder.Configuration
            .AddJsonFile(Repo.File("Gateway.Api", "appsettings.json"), optional: false)
            .AddInMemoryCollection(overrides));
    }

    private static async Task<ExternalProcess> StartServiceAsync(string service, int port)
    {
        var process = ExternalProcess.Start("dotnet", [Repo.UpstreamsDll, "--service", service, "--port", port.ToString(CultureInfo.InvariantCulture), "--debug-endpoints"]);
        await process.WaitForLineAsync("UPSTREAM_READY", Deadline);
        return process;
    }

    private async Task<long> Count(string service, string key)
    {
        using var http = new HttpClient();
        var counts = await http.GetFromJsonAsync<JsonElement>($"http://127.0.0.1:{_services[service].Port}/{service}/_debug/counts");
        return counts.GetProperty("counts").TryGetProperty(key, out var value) ? value.GetInt64() : 0;
    }

    private Task<HttpResponseMessage> Post(string path, string body, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return _gateway.Client.SendAsync(request);
    }

    private Task<HttpResponseMessage> Flow(string? token, string? key, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/flows/freight") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        return _gateway.Client.SendAsync(request);
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
}
