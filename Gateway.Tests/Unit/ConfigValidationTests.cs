using Gateway.Core.Routing;
using Gateway.Core.Routing.Validation;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Gateway.Tests.Unit;

/// <summary>A bad configuration fails at start-up with a message naming the key.</summary>
public sealed class ConfigValidationTests
{
    internal static GatewayConfig Valid() => GatewayConfig.Quotes("http://127.0.0.1:5101");

    internal static string[] Errors(GatewayConfig config)
    {
        var options = new ConfigurationBuilder().AddInMemoryCollection(config.Settings).Build()
            .GetSection(GatewayOptions.SectionName).Get<GatewayOptions>() ?? new GatewayOptions();
        var result = new GatewayOptionsValidator().Validate(null, options);
        return result.Failed ? result.Failures!.ToArray() : [];
    }

    [Fact]
    public void A_valid_configuration_passes() => Errors(Valid()).Should().BeEmpty();

    [Fact]
    public void Header_edits_on_headers_left_to_the_two_ends_pass() => Errors(Valid()
        .Set("Gateway:Routes:quotes:Headers:Request:Set:X-Api-Key", "k-123\tx")
        .Set("Gateway:Routes:quotes:Headers:Request:Set:Content-Type", "application/json")
        .Set("Gateway:Routes:quotes:Headers:Request:Remove:0", "Cookie")
        .Set("Gateway:Routes:quotes:Headers:Response:Remove:0", "Server")
        .Set("Gateway:Routes:quotes:Headers:Response:Set:Cache-Control", "no-store")).Should().BeEmpty();

    [Theory]
    [InlineData("Authorization", "Authenticated")]
    [InlineData("AllowQueryToken", "true")]
    [InlineData("RequireSession", "true")]
    [InlineData("Methods:0", "POST")]
    public void A_cache_on_a_route_whose_answer_is_not_the_same_for_every_caller_is_refused(string setting, string value)
    {
        var config = Valid().Set("Gateway:Routes:quotes:Cache:Duration", "00:01:00").Set($"Gateway:Routes:quotes:{setting}", value);
        if (setting.StartsWith("Methods", StringComparison.Ordinal))
        {
            config.Set("Gateway:Routes:quotes:Methods:1", "PUT");
        }

        Errors(config).Should().Contain(e => e.StartsWith("Gateway:Routes:quotes:Cache:", StringComparison.Ordinal));
        Errors(Valid().Set("Gateway:Routes:quotes:Cache:Duration", "00:01:00")).Should().BeEmpty();
    }

    [Fact]
    public void A_header_both_set_and_removed_is_refused_and_a_bad_value_is_named_but_never_quoted()
    {
        // A value set here is often the upstream's credential: the message names its key, not its text.
        var errors = Errors(Valid()
            .Set("Gateway:Routes:quotes:Headers:Request:Set:X-Api-Key", "s3cret\r\nX-Injected: 1")
            .Set("Gateway:Routes:quotes:Headers:Response:Set:X-Note", "a")
            .Set("Gateway:Routes:quotes:Headers:Response:Remove:0", "x-note"));

        errors.Should().Contain(e => e.StartsWith("Gateway:Routes:quotes:Headers:Request:Set:X-Api-Key:", StringComparison.Ordinal));
        errors.Should().Contain(e => e.StartsWith("Gateway:Routes:quotes:Headers:Response:Remove:0:", StringComparison.Ordinal));
        errors.Should().NotContain(e => e.Contains("s3cret", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Gateway:Routes:quotes:ClusterId", "nope", "Gateway:Routes:quotes:ClusterId")]
    [InlineData("Gateway:Clusters:quote-service:Destinations:quote-service-1:Address", "not a url", "Gateway:Clusters:quote-service:Destinations:quote-service-1:Address")]
    [InlineData("Gateway:Clusters:quote-service:Destinations:quote-service-1:Address", "ftp://h/x", "Address")]
    [InlineData("Gateway:Clusters:quote-service:Destinations:quote-service-1:Address", "http://h/x?q=1", "Address")]
    [InlineData("Gateway:Routes:quotes:Path", "/api/{**rest}/x", "Gateway:Routes:quotes:Path")]
    [InlineData("Gateway:Routes:quotes:Path", "no-slash", "Gateway:Routes:quotes:Path")]
    [InlineData("Gateway:Routes:quotes:Transform:PathRemovePrefix", "/api/v2", "Gateway:Routes:quotes:Transform:PathRemovePrefix")]
    [InlineData("Gateway:Routes:quotes:Transform:PathPattern", "/x/{missing}", "Gateway:Routes:quotes:Transform:PathPattern")]
    [InlineData("Gateway:Clusters:quote-service:Destinations:quote-service-1:Weight", "0", "Weight")]
    [InlineData("Gateway:TrustedProxies:0", "not-an-ip", "Gateway:TrustedProxies:0")]
    [InlineData("Gateway:Routes:quotes:Methods:0", "FETCH", "Gateway:Routes:quotes:Methods:0")]
    [InlineData("Gateway:Routes:quotes:Retries", "50", "Gateway:Routes:quotes:Retries")]
    [InlineData("Gateway:Routes:quotes:ResponseIdleTimeout", "00:00:00", "Gateway:Routes:quotes:ResponseIdleTimeout")]
    [InlineData("Gateway:Limits:ResponseIdleTimeout", "2.00:00:00", "Gateway:Limits:ResponseIdleTimeout")]
    [InlineData("Gateway:Limits:MaxRequestLineSize", "100", "Gateway:Limits:MaxRequestLineSize")]
    [InlineData("Gateway:Limits:MaxRequestHeaderCount", "0", "Gateway:Limits:MaxRequestHeaderCount")]
    [InlineData("Gateway:Routes:quotes:Authorization", "Nobody", "Gateway:Routes:quotes:Authorization")]
    [InlineData("Gateway:Routes:quotes:RateLimitPolicy", "missing", "Gateway:Routes:quotes:RateLimitPolicy")]
    [InlineData("Gateway:Clusters:quote-service:CircuitBreaker:FailureRatio", "0", "Gateway:Clusters:quote-service:CircuitBreaker:FailureRatio")]
    [InlineData("Gateway:Auth:SigningKey", "short", "Gateway:Auth:SigningKey")]
    [InlineData("Gateway:Auth:ValidationCacheDuration", "02:00:00", "Gateway:Auth:ValidationCacheDuration")]
    [InlineData("Gateway:Auth:ValidationCacheSize", "0", "Gateway:Auth:ValidationCacheSize")]
    // The gateway's own endpoints: the same pattern was a 500 on every call (routing cannot choose), a prefix hid one.
    [InlineData("Gateway:Routes:quotes:Path", "/metrics", "Gateway:Routes:quotes:Path")]
    [InlineData("Gateway:Routes:quotes:Path", "/health/live", "Gateway:Routes:quotes:Path")]
    [InlineData("Gateway:Routes:quotes:Path", "/Health/{**rest}", "Gateway:Routes:quotes:Path")]
    [InlineData("Gateway:Routes:quotes:Path", "/admin/{**rest}", "Gateway:Routes:quotes:Path")]
    [InlineData("Gateway:Routes:quotes:Path", "/api/v1/flows/freight", "Gateway:Routes:quotes:Path")]
    [InlineData("Gateway:Routes:quotes:Path", "/api/v1/auth/logout", "Gateway:Routes:quotes:Path")]
    [InlineData("Gateway:Clusters:quote-service:HttpVersion", "3", "Gateway:Clusters:quote-service:HttpVersion")]
    [InlineData("Gateway:Clusters:quote-service:HttpVersion", "h2c", "Gateway:Clusters:quote-service:HttpVersion")]
    // A route's header edits cannot forge what the gateway sets (forwarding, identity) or undo what it drops.
    [InlineData("Gateway:Routes:quotes:Headers:Request:Set:X-Forwarded-For", "10.0.0.1", "Gateway:Routes:quotes:Headers:Request:Set:X-Forwarded-For")]
    [InlineData("Gateway:Routes:quotes:Headers:Request:Set:X-User-Id", "admin", "Gateway:Routes:quotes:Headers:Request:Set:X-User-Id")]
    [InlineData("Gateway:Routes:quotes:Headers:Request:Remove:0", "Connection", "Gateway:Routes:quotes:Headers:Request:Remove:0")]
    [InlineData("Gateway:Routes:quotes:Headers:Request:Set:Content-Length", "0", "Gateway:Routes:quotes:Headers:Request:Set:Content-Length")]
    [InlineData("Gateway:Routes:quotes:Headers:Response:Remove:0", "X-Correlation-ID", "Gateway:Routes:quotes:Headers:Response:Remove:0")]
    [InlineData("Gateway:Routes:quotes:Headers:Response:Set:Transfer-Encoding", "gzip", "Gateway:Routes:quotes:Headers:Response:Set:Transfer-Encoding")]
    [InlineData("Gateway:Routes:quotes:Headers:Request:Set:Bad Name", "x", "Gateway:Routes:quotes:Headers:Request:Set:Bad Name")]
    [InlineData("Gateway:Routes:quotes:Headers:Response:Set:X-Note", "caf\u00e9", "Gateway:Routes:quotes:Headers:Response:Set:X-Note")]
    [InlineData("Gateway:Routes:quotes:Cache:Duration", "00:00:00", "Gateway:Routes:quotes:Cache:Duration")]
    [InlineData("Gateway:Routes:quotes:Cache:VaryByHeaders:0", "Accept Language", "Gateway:Routes:quotes:Cache:VaryByHeaders:0")]
    [InlineData("Gateway:Caching:SizeLimit", "0", "Gateway:Caching:SizeLimit")]
    [InlineData("Gateway:Caching:MaxBodySize", "999999999999", "Gateway:Caching:MaxBodySize")]
    [InlineData("Gateway:Caching:Store", "Redis", "Gateway:Caching:Store")]
    [InlineData("Gateway:Caching:RedisConfiguration", "127.0.0.1:6379", "Gateway:Caching:RedisConfiguration")]
    public void Each_mistake_is_reported_by_its_key(string key, string value, string named)
    {
        Errors(Valid().Set(key, value)).Should().Contain(e => e.Contains(named, StringComparison.Ordinal));
    }

    [Fact]
    public void An_unknown_cache_store_fails_the_start_naming_its_key() =>
        FluentActions.Invoking(() => TestGateway.Build(Valid().Set("Gateway:Caching:Store", "Disk")))
            .Should().Throw<InvalidOperationException>().WithMessage("*Gateway:Caching:Store*");

    [Theory]
    [InlineData("127.0.0.1:6379", true)]
    [InlineData("cache.internal:6380,password=pa55word,ssl=true", true)]
    [InlineData("password=pa55word", false)]
    [InlineData("127.0.0.1:6379,nonsense=1", false)]
    public void A_cache_of_its_own_needs_a_Redis_configuration_string_and_never_quotes_it(string configuration, bool accepted)
    {
        var errors = Errors(Valid().Set("Gateway:Caching:Store", "Redis").Set("Gateway:Caching:RedisConfiguration", configuration));

        errors.Any(e => e.StartsWith("Gateway:Caching:RedisConfiguration", StringComparison.Ordinal)).Should().Be(!accepted);
        errors.Should().NotContain(e => e.Contains("pa55word", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/api/v1/flows/{**rest}")]
    [InlineData("/healthz")]
    [InlineData("/{**rest}")]
    [InlineData("/api/admin/catalog/{**rest}")]
    public void A_route_beside_the_gateways_own_endpoints_is_accepted(string path) =>
        Errors(new GatewayConfig().Route("beside", path, "quote-service", "GET").Cluster("quote-service", "http://127.0.0.1:5101")).Should().BeEmpty();

    [Theory]
    [InlineData(999, "00:01:00", true)]
    [InlineData(1000, "00:01:00", false)]
    [InlineData(10, "00:00:01", true)]
    [InlineData(20, "00:00:01", false)]
    public void A_health_policy_may_not_limit_health_endpoints_below_1000_a_minute(int permits, string window, bool refused)
    {
        var config = Valid().Set("Gateway:RateLimiting:Policies:health:PermitLimit", permits).Set("Gateway:RateLimiting:Policies:health:Window", window);
        Errors(config).Any(e => e.StartsWith("Gateway:RateLimiting:Policies:health:PermitLimit", StringComparison.Ordinal)).Should().Be(refused);
    }

    [Theory]
    [InlineData("POST", true)]
    [InlineData("GET", false)]
    public void A_websocket_route_must_take_the_handshakes_get(string method, bool refused)
    {
        var config = new GatewayConfig().Route("live", "/api/v1/live/{**rest}", "quote-service", method)
            .Set("Gateway:Routes:live:WebSockets", true).Cluster("quote-service", "http://127.0.0.1:5101");
        Errors(config).Any(e => e.StartsWith("Gateway:Routes:live:WebSockets", StringComparison.Ordinal)).Should().Be(refused);
    }

    [Theory]
    [InlineData("MatchHeaders", "X-Api-Version", "Exact", "", "Values")]
    [InlineData("MatchHeaders", "X-Api-Version", "Prefix", "", "Values")]
    [InlineData("MatchHeaders", "X-Canary", "Exists", "yes", "Values")]
    [InlineData("MatchHeaders", "User-Agent", "NotContains", "", "Values")]
    [InlineData("MatchQuery", "tags", "Contains", "", "Values")]
    [InlineData("MatchHeaders", "X-Canary", "NotExists", "yes", "Values")]
    [InlineData("MatchHeaders", "", "Exists", "", "Name")]
    [InlineData("MatchHeaders", "X Api", "Exact", "2", "Name")]
    [InlineData("MatchHeaders", "X-Api-Version", "Exact", "2", null)]
    [InlineData("MatchHeaders", "X-Canary", "NotExists", "", null)]
    [InlineData("MatchQuery", "api-version", "Exact", "", "Values")]
    [InlineData("MatchQuery", "preview", "Exists", "yes", "Values")]
    [InlineData("MatchQuery", "", "Exists", "", "Name")]
    [InlineData("MatchQuery", "a&b", "Exists", "", "Name")]
    [InlineData("MatchQuery", "a b", "Exists", "", "Name")]
    [InlineData("MatchQuery", "filter[status]", "Exact", "open", null)]
    public void A_condition_names_a_header_or_parameter_and_has_values_exactly_when_its_mode_compares_them(string kind, string name, string mode, string value, string? error)
    {
        var key = $"Gateway:Routes:quotes:{kind}:0";
        var config = Valid().Set($"{key}:Name", name).Set($"{key}:Mode", mode);
        if (value.Length > 0)
        {
            config.Set($"{key}:Values:0", value);
        }

        var errors = Errors(config);
        if (error is null)
        {
            errors.Should().BeEmpty();
        }
        else
        {
            errors.Should().ContainSingle(e => e.StartsWith($"{key}:{error}:", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Routes_on_one_path_are_duplicates_only_with_the_same_conditions_and_one_header_gets_one_condition()
    {
        GatewayConfig TwoRoutes(string otherValue, string otherKind = "MatchHeaders") => Valid()
            .Route("v2", "/api/v1/quotes/{**rest}", "quote-service", "GET")
            .Set("Gateway:Routes:v2:MatchHeaders:0:Name", "X-Api-Version").Set("Gateway:Routes:v2:MatchHeaders:0:Values:0", "2")
            .Route("v2b", "/api/v1/quotes/{**rest}", "quote-service", "GET")
            .Set($"Gateway:Routes:v2b:{otherKind}:0:Name", "x-api-version").Set($"Gateway:Routes:v2b:{otherKind}:0:Values:0", otherValue);

        Errors(TwoRoutes("3")).Should().BeEmpty("the conditions differ, and both differ from the plain route's none");
        Errors(TwoRoutes("2", "MatchQuery")).Should().BeEmpty("a parameter named like the header is another condition");
        Errors(TwoRoutes("2")).Should().ContainSingle(e => e.StartsWith("Gateway:Routes:v2b:Path: '/api/v1/quotes/{**rest}' duplicates route 'v2'", StringComparison.Ordinal));
        Errors(Valid()
            .Set("Gateway:Routes:quotes:MatchHeaders:0:Name", "X-Api-Version").Set("Gateway:Routes:quotes:MatchHeaders:0:Values:0", "2")
            .Set("Gateway:Routes:quotes:MatchHeaders:1:Name", "X-API-VERSION").Set("Gateway:Routes:quotes:MatchHeaders:1:Values:0", "3"))
            .Should().ContainSingle(e => e.StartsWith("Gateway:Routes:quotes:MatchHeaders:1:Name:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("1.1", "POST", "Gateway:Routes:web:GrpcWeb: cluster 'echo' is reached over HTTP/1.1")]
    [InlineData("2", "GET", "Gateway:Routes:web:GrpcWeb: a gRPC-Web call is a POST")]
    [InlineData("2", "POST", null)]
    public void A_grpc_web_route_needs_an_http2_cluster_and_post(string version, string method, string? error)
    {
        var config = new GatewayConfig().Route("web", "/echo.Echo/{**rest}", "echo", method)
            .Set("Gateway:Routes:web:GrpcWeb", true).Cluster("echo", "http://127.0.0.1:5102")
            .Set("Gateway:Clusters:echo:HttpVersion", version);
        var errors = Errors(config);
        if (error is null)
        {
            errors.Should().BeEmpty();
        }
        else
        {
            errors.Should().ContainSingle(e => e.StartsWith(error, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2")]
    public void A_websocket_route_may_go_to_a_cluster_on_either_protocol(string version)
    {
        // Over HTTP/2 the handshake goes up as an extended CONNECT (RFC 8441).
        var config = new GatewayConfig().Route("live", "/api/v1/live/{**rest}", "tracking", "GET")
            .Set("Gateway:Routes:live:WebSockets", true).Cluster("tracking", "http://127.0.0.1:5102")
            .Set("Gateway:Clusters:tracking:HttpVersion", version);
        Errors(config).Should().BeEmpty();
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2")]
    [InlineData("2.0")]
    public void An_http_version_of_a_cluster_is_accepted(string version) =>
        Errors(Valid().Set("Gateway:Clusters:quote-service:HttpVersion", version)).Should().BeEmpty();

    [Fact]
    public void Two_routes_with_the_same_pattern_and_method_are_duplicates()
    {
        var config = Valid().Route("copy", "/api/v1/quotes/{**other}", "quote-service", "GET");
        Errors(config).Should().ContainSingle(e => e.Contains("duplicates", StringComparison.Ordinal))
            .Which.Should().MatchRegex("^Gateway:Routes:(copy|quotes):Path: .*duplicates route '(copy|quotes)'");
    }

    [Fact]
    public void The_same_pattern_with_disjoint_methods_is_not_a_duplicate()
    {
        Errors(Valid().Route("deletes", "/api/v1/quotes/{**rest}", "quote-service", "DELETE")).Should().BeEmpty();
    }

    [Fact]
    public void A_route_needing_a_token_without_auth_configured_is_refused()
    {
        Errors(Valid().Set("Gateway:Routes:quotes:Authorization", "Authenticated"))
            .Should().Contain(e => e.Contains("Gateway:Routes:quotes:Authorization", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Gateway:Shutdown:DrainDelay", "-00:00:01")]
    [InlineData("Gateway:Shutdown:DrainDelay", "00:11:00")]
    [InlineData("Gateway:Shutdown:Timeout", "00:00:00")]
    [InlineData("Gateway:Shutdown:Timeout", "02:00:00")]
    public void A_shutdown_setting_out_of_range_is_named(string key, string value) =>
        Errors(Valid().Set(key, value)).Should().ContainSingle().Which.Should().StartWith(key + ":");

    [Fact]
    public async Task The_hosts_shutdown_timeout_covers_the_drain_and_then_the_requests_in_flight()
    {
        await using var app = TestGateway.Build(Valid().Set("Gateway:Shutdown:DrainDelay", "00:00:05").Set("Gateway:Shutdown:Timeout", "00:00:20"));
        app.Services.GetRequiredService<IOptions<Microsoft.Extensions.Hosting.HostOptions>>().Value.ShutdownTimeout.Should().Be(TimeSpan.FromSeconds(25));
    }

    [Fact]
    public void The_real_host_fails_fast_at_start_up_naming_the_key()
    {
        FluentActions.Invoking(() => TestGateway.Build(Valid().Set("Gateway:Routes:quotes:ClusterId", "nope")))
            .Should().Throw<OptionsValidationException>().WithMessage("*Gateway:Routes:quotes:ClusterId*");
    }

    [Theory]
    [InlineData("Gateway:Routes:quotes:Timeout", "abc")]
    [InlineData("Gateway:Routes:quotes:PreserveHost", "yes")]
    [InlineData("Gateway:Routes:quotes:WebSockets", "sometimes")]
    [InlineData("Gateway:Routes:quotes:RewriteCookies", "no thanks")]
    [InlineData("Gateway:Clusters:quote-service:LoadBalancingPolicy", "Random")]
    [InlineData("Gateway:Clusters:quote-service:LoadBalancingPolicy", "7")]
    [InlineData("Gateway:Clusters:quote-service:Destinations:quote-service-1:Weight", "heavy")]
    [InlineData("Gateway:Clusters:quote-service:HealthCheck:Interval", "often")]
    [InlineData("Gateway:RateLimiting:Policies:bench:PermitLimit", "many")]
    [InlineData("Gateway:Clusters:quote-service:HttpClient:SslProtocols", "Tls12, Tls14")]
    [InlineData("Gateway:Clusters:quote-service:HttpClient:SslProtocols", "12288")]
    [InlineData("Gateway:Clusters:quote-service:HttpClient:CertificateRevocationCheckMode", "Sometimes")]
    public void A_value_the_binder_cannot_convert_is_named_instead_of_dropping_its_route_or_cluster(string key, string value)
    {
        // The binder drops a route or cluster whole when one of its values does not convert, so without this
        // check the route silently disappeared (its paths then answered 404).
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(Valid().Set(key, value).Settings).Build();
        var section = configuration.GetSection(GatewayOptions.SectionName);
        var result = new ConfigurationValueValidator(section).Validate(null, section.Get<GatewayOptions>()!);
        result.Failures.Should().ContainSingle().Which.Should().StartWith($"{key}: '{value}' is not");

        FluentActions.Invoking(() => TestGateway.Build(Valid().Set(key, value)))
            .Should().Throw<OptionsValidationException>().WithMessage($"{key}: '{value}'*");
    }

    [Fact]
    public void Values_that_convert_and_empty_values_pass_the_conversion_check()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(Valid()
            .Set("Gateway:Routes:quotes:Timeout", "00:00:05").Set("Gateway:Routes:quotes:RateLimitPolicy", string.Empty)
            .Set("Gateway:Clusters:quote-service:LoadBalancingPolicy", "powerOfTwoChoices")
            .Set("Gateway:Routes:quotes:PreserveHost", "TRUE")
            .Set("Gateway:Clusters:quote-service:HttpClient:SslProtocols", "Tls12, tls13").Settings).Build();
        var section = configuration.GetSection(GatewayOptions.SectionName);
        new ConfigurationValueValidator(section).Validate(null, section.Get<GatewayOptions>()!).Succeeded.Should().BeTrue();
    }

    [Fact]
    public void A_switch_that_is_not_a_boolean_fails_start_up_naming_the_key()
    {
        FluentActions.Invoking(() => TestGateway.Build(Valid().Set("Gateway:Observability:FrameworkMetrics", "sometimes")))
            .Should().Throw<InvalidOperationException>().WithMessage("*Gateway:Observability:FrameworkMetrics*");
    }

    [Theory]
    [InlineData("appsettings.json", new[] { "quotes", "quote-calculate", "tracking", "contracts", "webhooks" })]
    [InlineData("gateway.bcommerce.json", new[] { "clients", "catalog", "admin-catalog", "cart", "orders" })]
    public void Both_shipped_configurations_validate(string file, string[] routes)
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(Repo.File("Gateway.Api", file)).Build();
        var options = configuration.GetSection(GatewayOptions.SectionName).Get<GatewayOptions>()!;
        // The shared secret comes from the environment (JWT_SECRET); stand one in for SmartEnvios.
        if (options.Auth.Authority is null)
        {
            options = options with { Auth = options.Auth with { SigningKey = new string('k', 32) } };
        }

        var result = new GatewayOptionsValidator().Validate(null, options);
        result.Failed.Should().BeFalse(result.FailureMessage);
        options.Routes.Keys.Should().BeEquivalentTo(routes);
    }

    [Fact]
    public void The_shipped_smartenvios_routes_match_the_seed()
    {
        var options = new ConfigurationBuilder().AddJsonFile(Repo.File("Gateway.Api", "appsettings.json")).Build()
            .GetSection(GatewayOptions.SectionName).Get<GatewayOptions>()!;
        options.Routes["quotes"].Methods.Should().BeEquivalentTo("GET", "POST");
        options.Routes["tracking"].Methods.Should().BeEquivalentTo("GET", "POST");
        options.Routes["contracts"].Methods.Should().BeEquivalentTo("GET", "POST", "PUT", "DELETE");
        options.Routes["webhooks"].Methods.Should().BeEquivalentTo("POST");
        options.Routes["webhooks"].ClusterId.Should().Be("tracking-service");
        options.Routes.Values.Should().OnlyContain(r => r.Transform!.PathRemovePrefix == "/api/v1");
        options.Routes["contracts"].Authorization.Should().Be("Authenticated");
        (options.Routes["quotes"].Timeout, options.Routes["quotes"].Retries).Should().Be((TimeSpan.FromSeconds(10), 3));
        (options.Routes["tracking"].Timeout, options.Routes["tracking"].Retries).Should().Be((TimeSpan.FromSeconds(5), 2));
        (options.Routes["contracts"].Timeout, options.Routes["contracts"].Retries).Should().Be((TimeSpan.FromSeconds(15), 2));
        (options.Routes["webhooks"].Timeout, options.Routes["webhooks"].Retries).Should().Be((TimeSpan.FromSeconds(30), 0));
        options.RateLimiting.Policies["quotes"].PermitLimit.Should().Be(100);
        options.RateLimiting.Policies["tracking"].PermitLimit.Should().Be(200);
        options.RateLimiting.Policies["contracts"].PermitLimit.Should().Be(50);
        options.RateLimiting.Policies["health"].PermitLimit.Should().Be(1000);
    }
}
