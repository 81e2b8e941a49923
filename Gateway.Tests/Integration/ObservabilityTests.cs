using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// Traces, logs, metrics and health as an operator sees them: the gateway as its own process, an OTLP/HTTP
/// receiver in the test process and a real Prometheus on loopback.
/// </summary>
public sealed class ObservabilityTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task Spans_and_logs_reach_an_OTLP_receiver_with_the_upstream_call_as_a_child_of_the_server_span_and_the_same_trace_upstream()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.Quotes(upstream.Url), receiver.ExporterEnvironment(
            ("OTEL_SERVICE_NAME", "gateway-under-test"), ("OTEL_BSP_SCHEDULE_DELAY", "200")));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/traced");
        request.Headers.Add("X-Correlation-ID", "corr-otlp");
        using var response = await gateway.Client.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var traceId = response.Headers.GetValues("X-Trace-ID").Single();
        var traceparent = upstream.Received.Single(r => r.Path == "/quotes/traced").Headers["traceparent"].Split('-');
        traceparent[1].Should().Be(traceId, "the upstream continues the gateway's trace");

        await Poll.UntilAsync(() => receiver.Spans.Count(s => s.TraceId == traceId) >= 2, Deadline, "the server and client spans of the request");
        var spans = receiver.Spans.Where(s => s.TraceId == traceId).ToList();
        var server = spans.Single(s => s.Kind == ReceivedSpan.ServerKind);
        var client = spans.Single(s => s.Kind == ReceivedSpan.ClientKind);
        client.ParentSpanId.Should().Be(server.SpanId, "the upstream call is a child of the server span");
        traceparent[2].Should().Be(client.SpanId, "the upstream's parent is the gateway's client span");
        server.Service.Should().Be("gateway-under-test");
        server.Attributes["gateway.route"].Should().Be("quotes");
        server.Events.Should().Contain("gateway.attempt");

        await Poll.UntilAsync(() => receiver.Logs.Any(l => l.TraceId == traceId && l.Attributes.ContainsKey("StatusCode")), Deadline, "the access log over OTLP");
        var access = receiver.Logs.First(l => l.TraceId == traceId && l.Attributes.ContainsKey("StatusCode"));
        access.Service.Should().Be("gateway-under-test");
        access.SpanId.Should().Be(server.SpanId, "the access line belongs to the server span");
        access.Attributes["CorrelationId"].Should().Be("corr-otlp");
        access.Attributes.Should().NotContainKey("TraceId", "the ids are the record's own fields, not attributes as well")
            .And.NotContainKey("SpanId");
        access.Attributes["Route"].Should().Be("quotes");
        access.Attributes["StatusCode"].Should().Be("200");
        access.Body.Should().StartWith("{Method} {Path}", "the body is the template; the values are attributes");
    }

    [Fact]
    public async Task The_authentication_and_rate_limit_outcomes_are_events_on_the_requests_span()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var upstream = await TestUpstream.StartAsync();
        var config = GatewayConfig.Quotes(upstream.Url).WithSharedSecret()
            .Set("Gateway:Routes:quotes:Authorization", "Authenticated")
            .Set("Gateway:Routes:quotes:RateLimitPolicy", "limited")
            .Set("Gateway:RateLimiting:Policies:limited:PermitLimit", 1)
            .Set("Gateway:RateLimiting:Policies:limited:Window", "00:01:00")
            .Set("Gateway:RateLimiting:Policies:limited:Partition", "Client");
        await using var gateway = await GatewayProcess.StartAsync(config, receiver.ExporterEnvironment(("OTEL_BSP_SCHEDULE_DELAY", "200")));

        async Task<ReceivedSpan> ServerSpanOf(string? token, HttpStatusCode expected)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/decided");
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await gateway.Client.SendAsync(request);
            response.StatusCode.Should().Be(expected);
            var traceId = response.Headers.GetValues("X-Trace-ID").Single();
            await Poll.UntilAsync(() => receiver.Spans.Any(s => s.TraceId == traceId && s.Kind == ReceivedSpan.ServerKind), Deadline, "the request's server span");
            return receiver.Spans.Single(s => s.TraceId == traceId && s.Kind == ReceivedSpan.ServerKind);
        }

        var token = Tokens.Hs256(new { sub = "traced-user" });
        var admitted = await ServerSpanOf(token, HttpStatusCode.OK);
        admitted.EventsNamed("gateway.auth").Single()["gateway.outcome"].Should().Be("authenticated");
        admitted.EventsNamed("gateway.rate_limit").Single()["gateway.outcome"].Should().Be("admitted");

        var refused = await ServerSpanOf(token, HttpStatusCode.TooManyRequests);
        var limit = refused.EventsNamed("gateway.rate_limit").Single();
        limit["gateway.outcome"].Should().Be("refused");
        limit["gateway.policy"].Should().Be("limited");

        var anonymous = await ServerSpanOf(null, HttpStatusCode.Unauthorized);
        anonymous.EventsNamed("gateway.auth").Single()["gateway.outcome"].Should().Be("token_missing");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_gateways_metrics_reach_an_OTLP_receiver_and_the_frameworks_own_only_when_configured(bool frameworkMetrics)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var upstream = await TestUpstream.StartAsync();
        var config = GatewayConfig.Quotes(upstream.Url).Set("Gateway:Observability:FrameworkMetrics", frameworkMetrics);
        await using var gateway = await GatewayProcess.StartAsync(config, receiver.ExporterEnvironment(("OTEL_METRIC_EXPORT_INTERVAL", "200")));

        using (var response = await gateway.Client.GetAsync("/api/v1/quotes/measured"))
        {
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        await Poll.UntilAsync(() => receiver.MetricNames.ContainsKey("gateway_requests_total"), Deadline, "the request counter over OTLP");
        receiver.MetricNames.Keys.Should().Contain("gateway_request_duration_seconds");
        if (frameworkMetrics)
        {
            await Poll.UntilAsync(() => receiver.MetricNames.ContainsKey("http.server.request.duration") && receiver.MetricNames.ContainsKey("http.client.request.duration"),
                Deadline, "ASP.NET Core's and HttpClient's request durations over OTLP");
        }
        else
        {
            // Two more exports after the request was counted: anything recorded for it has been sent by then.
            var seen = receiver.MetricExports;
            await Poll.UntilAsync(() => receiver.MetricExports >= seen + 2, Deadline, "two more metric exports");
            receiver.MetricNames.Keys.Should().NotContain(name => name.StartsWith("http.", StringComparison.Ordinal)
                || name.StartsWith("kestrel.", StringComparison.Ordinal) || name.StartsWith("aspnetcore.", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Without_trace_export_the_upstream_still_continues_the_clients_trace_with_the_gateways_span_as_parent()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await TestGateway.StartAsync(GatewayConfig.Quotes(upstream.Url));
        const string clientTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        const string clientSpanId = "00f067aa0ba902b7";

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/joined");
        request.Headers.Add("traceparent", $"00-{clientTraceId}-{clientSpanId}-01");
        request.Headers.Add("tracestate", "vendor=client");
        using var response = await gateway.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.GetValues("X-Trace-ID").Single().Should().Be(clientTraceId, "the gateway continues the client's trace");
        var received = upstream.Received.Single(r => r.Path == "/quotes/joined").Headers;
        var traceparent = received["traceparent"].Split('-');
        traceparent.Should().HaveCount(4, "one traceparent value, not the client's and the gateway's side by side");
        traceparent[1].Should().Be(clientTraceId);
        traceparent[2].Should().MatchRegex("^[0-9a-f]{16}$").And.NotBe(clientSpanId, "the upstream's parent is the gateway's span, not the client's");
        received["tracestate"].Should().Be("vendor=client", "the trace state travels with the trace");
        traceparent[3].Should().Be("01", "the client's sampling decision travels too");

        using var unsampled = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/unsampled");
        unsampled.Headers.Add("traceparent", $"00-{clientTraceId}-{clientSpanId}-00");
        (await gateway.Client.SendAsync(unsampled)).StatusCode.Should().Be(HttpStatusCode.OK);
        upstream.Received.Single(r => r.Path == "/quotes/unsampled").Headers["traceparent"].Should().EndWith("-00");
    }

    [Fact]
    public async Task Every_log_line_is_JSON_with_the_requests_correlation_id_and_no_secret_ever_appears()
    {
        await using var upstream = await TestUpstream.StartAsync();
        var config = GatewayConfig.Quotes(upstream.Url).WithSharedSecret()
            .Route("private", "/api/v1/private/{**rest}", "quote-service", "GET").Set("Gateway:Routes:private:Authorization", "Authenticated")
            .Set("Gateway:Routes:private:Transform:PathRemovePrefix", "/api/v1")
            .Route("dead", "/api/v1/dead/{**rest}", "dead-service", "GET")
            .Cluster("dead-service", $"http://127.0.0.1:{Ports.Free()}")
            .Set("Gateway:Clusters:dead-service:HealthCheck:Enabled", false);
        await using var gateway = await GatewayProcess.StartAsync(config);
        var token = Tokens.Hs256();

        var ok = await Send(gateway, "/api/v1/private/x", "corr-ok", token, cookie: "session=cookie-secret-value");
        ok.Should().Be(HttpStatusCode.OK);
        (await Send(gateway, "/api/v1/private/x?token=" + token, "corr-401", null, null)).Should().Be(HttpStatusCode.Unauthorized);
        (await Send(gateway, "/api/v1/dead/x", "corr-502", null, null)).Should().Be(HttpStatusCode.BadGateway);

        await Poll.UntilAsync(() => AccessLine(gateway, "corr-502") is not null, Deadline, "the access log of the last request");
        var lines = gateway.Output.ToList();
        foreach (var line in lines)
        {
            var act = () => JsonDocument.Parse(line);
            act.Should().NotThrow($"every console line is JSON: {line}");
            line.Should().NotContain(token).And.NotContain("cookie-secret-value").And.NotContain(token[^16..]);
        }

        var access = AccessLine(gateway, "corr-ok")!.Value;
        access.TryGetProperty("@l", out _).Should().BeFalse("a 200 is Information, the compact format's default level");
        access.GetProperty("Route").GetString().Should().Be("private");
        access.GetProperty("Cluster").GetString().Should().Be("quote-service");
        access.GetProperty("StatusCode").GetInt32().Should().Be(200);
        access.GetProperty("ElapsedMs").GetDouble().Should().BePositive();
        access.GetProperty("TraceId").GetString().Should().MatchRegex("^[0-9a-f]{32}$");
        access.GetProperty("SpanId").GetString().Should().MatchRegex("^[0-9a-f]{16}$");
        AccessLine(gateway, "corr-401")!.Value.GetProperty("@l").GetString().Should().Be("Warning");
        AccessLine(gateway, "corr-502")!.Value.GetProperty("@l").GetString().Should().Be("Error");
        AccessLine(gateway, "corr-401")!.Value.GetProperty("Path").GetString().Should().Be("/api/v1/private/x", "the query string is not logged");

        var startup = string.Join('\n', lines.Where(l => !l.Contains("\"AccessLog\"", StringComparison.Ordinal)));
        startup.Should().Contain("quotes").And.Contain("private").And.Contain("dead-service", "start-up logs the loaded routes and clusters");
    }

    [Fact]
    public async Task A_real_Prometheus_scrapes_request_counts_by_route_and_status_with_bounded_labels()
    {
        await using var upstream = await TestUpstream.StartAsync();
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.Quotes(upstream.Url));
        for (var i = 0; i < 30; i++)
        {
            using var response = await gateway.Client.GetAsync($"/api/v1/quotes/item-{i}?q={i}");
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        // A method is any token a client makes up: as a label, each would be a series of its own.
        foreach (var method in new[] { "FOO1", "FOO2", "FOO3" })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), "/api/v1/quotes/x");
            using var response = await gateway.Client.SendAsync(request);
            response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        }

        var directory = Directory.CreateTempSubdirectory("gw-prom-").FullName;
        var promPort = Ports.Free();
        var configFile = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(configFile, $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: gateway
                static_configs:
                  - targets: ["127.0.0.1:{gateway.Address.Port}"]
            """);
        await using var prometheus = ExternalProcess.Start("prometheus", [$"--config.file={configFile}", $"--storage.tsdb.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{promPort}", "--log.level=warn"]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{promPort}") };

        JsonElement result = default;
        await Poll.UntilAsync(async () =>
        {
            var answer = await http.GetFromJsonAsync<JsonElement>("/api/v1/query?query=" + Uri.EscapeDataString("gateway_requests_total{route=\"quotes\",status_code=\"200\"}"));
            result = answer.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() > 0;
        }, Deadline, "Prometheus' first scrape of the gateway");

        result.GetArrayLength().Should().Be(1, "thirty distinct paths are one series: the label is the route, never the path");
        result[0].GetProperty("metric").GetProperty("method").GetString().Should().Be("GET");
        result[0].GetProperty("metric").GetProperty("service").GetString().Should().Be("quote-service");
        double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture).Should().Be(30);
        var series = await http.GetFromJsonAsync<JsonElement>("/api/v1/series?match[]=" + Uri.EscapeDataString("{__name__=~\"gateway_.*\"}"));
        series.GetProperty("data").EnumerateArray().Should().NotContain(s => s.GetRawText().Contains("item-", StringComparison.Ordinal));
        series.GetProperty("data").EnumerateArray().Should().NotContain(s => s.GetRawText().Contains("FOO", StringComparison.Ordinal));
        var other = (await http.GetFromJsonAsync<JsonElement>("/api/v1/query?query=" + Uri.EscapeDataString("gateway_requests_total{method=\"_OTHER\",status_code=\"405\"}")))
            .GetProperty("data").GetProperty("result");
        other.GetArrayLength().Should().Be(1, "the made-up methods share OpenTelemetry's _OTHER");
        double.Parse(other[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture).Should().Be(3);
    }

    [Fact]
    public async Task Health_is_503_naming_the_service_while_its_instances_are_down_and_200_when_they_return()
    {
        var upstream = await TestUpstream.StartAsync();
        var port = upstream.Port;
        await using var gateway = await TestGateway.StartAsync(GatewayConfig.Quotes(upstream.Url)
            .Set("Gateway:Clusters:quote-service:HealthCheck:Interval", "00:00:00.100")
            .Set("Gateway:Clusters:quote-service:HealthCheck:UnhealthyThreshold", 1)
            .Set("Gateway:Clusters:quote-service:HealthCheck:HealthyThreshold", 1));
        await Poll.UntilAsync(async () => (await gateway.Client.GetAsync("/health")).StatusCode == HttpStatusCode.OK, Deadline, "healthy at start");

        await upstream.DisposeAsync();
        await Poll.UntilAsync(async () => (await gateway.Client.GetAsync("/health")).StatusCode == HttpStatusCode.ServiceUnavailable, Deadline, "the health to turn 503");
        using var serviceHealth = await gateway.Client.GetAsync("/health/quote-service");
        var body = JsonDocument.Parse(await serviceHealth.Content.ReadAsStringAsync()).RootElement;
        using (var down = await gateway.Client.GetAsync("/health"))
        {
            var report = JsonDocument.Parse(await down.Content.ReadAsStringAsync()).RootElement;
            report.GetProperty("status").GetString().Should().Be("unhealthy");
            report.GetProperty("checks").GetProperty("microservices").GetProperty("quote-service").GetProperty("status").GetString().Should().Be("unhealthy");
            report.GetProperty("metadata").GetProperty("version").GetString().Should().NotBeNullOrEmpty();
            report.GetProperty("checks").GetProperty("infrastructure").GetProperty("configuration").GetProperty("status").GetString()
                .Should().Be("healthy", "the gateway runs the configuration it started with");
        }

        (await gateway.Client.GetAsync("/health/ready")).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await gateway.Client.GetAsync("/health/live")).StatusCode.Should().Be(HttpStatusCode.OK, "the process itself is fine");
        body.GetRawText().Should().Contain("quote-service-1");

        await using var revived = await TestUpstream.StartAsync(port: port);
        await Poll.UntilAsync(async () => (await gateway.Client.GetAsync("/health")).StatusCode == HttpStatusCode.OK, Deadline, "the health to be 200 again");
    }

    private static async Task<HttpStatusCode> Send(GatewayProcess gateway, string path, string correlationId, string? token, string? cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Correlation-ID", correlationId);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        using var response = await gateway.Client.SendAsync(request);
        return response.StatusCode;
    }

    private static JsonElement? AccessLine(GatewayProcess gateway, string correlationId)
    {
        foreach (var line in gateway.Output)
        {
            if (line.Contains("\"AccessLog\"", StringComparison.Ordinal) && line.Contains(correlationId, StringComparison.Ordinal))
            {
                var element = JsonDocument.Parse(line).RootElement;
                if (element.TryGetProperty("CorrelationId", out var id) && id.GetString() == correlationId)
                {
                    return element;
                }
            }
        }

        return null;
    }
}
