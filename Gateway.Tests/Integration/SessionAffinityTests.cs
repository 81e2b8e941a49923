using System.Net;
using FluentAssertions;
using Gateway.Core.Discovery;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Unit;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// A cluster's session affinity: a client's requests stay on the instance that answered its first one, by cookie or
/// by header, while other clients are balanced as before; when that instance leaves, the session moves
/// (Redistribute) or the request is refused (Return503).
/// </summary>
public sealed class SessionAffinityTests : IAsyncLifetime
{
    private const string Cookie = ".Gateway.Affinity";
    private readonly List<NamedUpstream> _upstreams = [];

    public async Task InitializeAsync()
    {
        foreach (var name in new[] { "a", "b", "c" })
        {
            _upstreams.Add(await NamedUpstream.StartAsync(name));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var upstream in _upstreams)
        {
            await upstream.DisposeAsync();
        }
    }

    private Task<TestGateway> StartAsync(params (string Key, object Value)[] affinity)
    {
        var config = GatewayConfig.Quotes([.. _upstreams.Select(u => u.Url)])
            .Set("Gateway:Routes:quotes:Retries", 2)
            .Set("Gateway:Routes:quotes:RetryDelay", "00:00:00.010")
            .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false)
            .Set("Gateway:Clusters:quote-service:SessionAffinity:Enabled", true);
        foreach (var (key, value) in affinity)
        {
            config.Set($"Gateway:Clusters:quote-service:SessionAffinity:{key}", value);
        }

        return TestGateway.StartAsync(config);
    }

    private static async Task<(HttpStatusCode Status, string Body, string? Key)> GetAsync(TestGateway gateway, string path = "/api/v1/quotes/who", string? cookie = null, (string Name, string Value)? header = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        if (header is { } sent)
        {
            request.Headers.Add(sent.Name, sent.Value);
        }

        using var response = await gateway.Client.SendAsync(request);
        var key = response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies.Single() : null;
        if (header is { } named && response.Headers.TryGetValues(named.Name, out var values))
        {
            key = values.Single();
        }

        return (response.StatusCode, await response.Content.ReadAsStringAsync(), key);
    }

    private static string CookieValue(string setCookie) => setCookie.Split(';')[0].Split('=', 2)[1];

    [Theory]
    [InlineData(true, "https", true)]
    [InlineData(true, "http, https", true)]
    [InlineData(true, "https, http", false)]
    [InlineData(true, null, false)]
    [InlineData(false, "https", false)]
    public async Task The_cookie_is_secure_when_the_client_came_over_https_to_a_trusted_proxy_that_ended_tls(bool peerIsTrusted, string? forwardedProto, bool secure)
    {
        var config = GatewayConfig.Quotes([.. _upstreams.Select(u => u.Url)])
            .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false)
            .Set("Gateway:Clusters:quote-service:SessionAffinity:Enabled", true);
        if (peerIsTrusted)
        {
            config.Set("Gateway:TrustedProxies:0", "127.0.0.1");
        }

        await using var gateway = await TestGateway.StartAsync(config);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/who");
        if (forwardedProto is not null)
        {
            request.Headers.Add("X-Forwarded-Proto", forwardedProto);
        }

        using var response = await gateway.Client.SendAsync(request);

        var attributes = response.Headers.GetValues("Set-Cookie").Single().Split(';', StringSplitOptions.TrimEntries);
        attributes.Contains("secure", StringComparer.OrdinalIgnoreCase).Should().Be(secure);
    }

    [Fact]
    public async Task The_cookies_attributes_follow_the_clusters_AffinityCookie()
    {
        await using var gateway = await StartAsync(
            ("AffinityCookie:Path", "/api/v1/quotes"), ("AffinityCookie:Domain", "shop.example"), ("AffinityCookie:HttpOnly", false),
            ("AffinityCookie:SameSite", "Strict"), ("AffinityCookie:SecurePolicy", "Always"), ("AffinityCookie:MaxAge", "01:00:00"));

        var first = await GetAsync(gateway);

        var attributes = first.Key!.Split(';', StringSplitOptions.TrimEntries).Skip(1).Select(a => a.ToLowerInvariant()).ToArray();
        attributes.Should().BeEquivalentTo(["path=/api/v1/quotes", "domain=shop.example", "samesite=strict", "secure", "max-age=3600"],
            "over plain HTTP, Always makes it Secure, and HttpOnly is off");
    }

    [Fact]
    public async Task A_client_with_the_cookie_stays_on_its_instance_while_others_are_balanced()
    {
        await using var gateway = await StartAsync();

        var first = await GetAsync(gateway);
        first.Status.Should().Be(HttpStatusCode.OK);
        first.Key.Should().StartWith(Cookie + "=").And.Contain("path=/").And.Contain("samesite=lax").And.Contain("httponly");
        var key = CookieValue(first.Key!);
        key.Should().NotContainAny("quote-service", "a", "127.0.0.1", "the key names no instance or address");

        var others = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var bound = await GetAsync(gateway, cookie: $"theme=dark; {Cookie}={key}");
            bound.Body.Should().Be(first.Body, $"request {i} carries the session's key");
            bound.Key.Should().BeNull("a client that sent its instance's key is not given it again");
            others.Add((await GetAsync(gateway)).Body);
        }

        others.Distinct().Should().HaveCountGreaterThan(1, "clients without a key are balanced as before");
    }

    [Fact]
    public async Task When_the_instance_leaves_the_session_moves_to_another_and_stays_there()
    {
        await using var gateway = await StartAsync();
        var first = await GetAsync(gateway);
        var cluster = gateway.Services.GetRequiredService<ServiceRegistry>().Get("quote-service");
        cluster.TryRemove(cluster.Instances.Single(i => i.AffinityKey == CookieValue(first.Key!)).Id).Should().BeTrue();

        var moved = await GetAsync(gateway, cookie: $"{Cookie}={CookieValue(first.Key!)}");

        moved.Status.Should().Be(HttpStatusCode.OK);
        moved.Body.Should().NotBe(first.Body);
        moved.Key.Should().NotBeNull("the client is bound to its new instance");
        for (var i = 0; i < 4; i++)
        {
            (await GetAsync(gateway, cookie: $"{Cookie}={CookieValue(moved.Key!)}")).Body.Should().Be(moved.Body);
        }
    }

    [Fact]
    public async Task A_retry_after_the_sessions_instance_failed_goes_elsewhere_and_rebinds()
    {
        await using var gateway = await StartAsync();
        var first = await GetAsync(gateway);
        var bound = _upstreams.Single(u => u.Name == first.Body);
        bound.Status = 503;

        var retried = await GetAsync(gateway, "/api/v1/quotes/status", cookie: $"{Cookie}={CookieValue(first.Key!)}");

        retried.Status.Should().Be(HttpStatusCode.OK, "GET is retried, on an instance this request has not tried");
        retried.Body.Should().NotBe(bound.Name);
        CookieValue(retried.Key!).Should().NotBe(CookieValue(first.Key!));
    }

    [Fact]
    public async Task With_Return503_a_session_whose_instance_left_is_refused_and_no_instance_is_called()
    {
        await using var gateway = await StartAsync(("FailurePolicy", "Return503"));
        var first = await GetAsync(gateway);
        var cluster = gateway.Services.GetRequiredService<ServiceRegistry>().Get("quote-service");
        cluster.TryRemove(cluster.Instances.Single(i => i.AffinityKey == CookieValue(first.Key!)).Id);
        var before = _upstreams.Sum(u => u.Upstream.Count("/quotes/who"));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/who");
        request.Headers.Add("Cookie", $"{Cookie}={CookieValue(first.Key!)}");
        using var response = await gateway.Client.SendAsync(request);

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, 503);
        problem.GetProperty("detail").GetString().Should().Contain("session");
        _upstreams.Sum(u => u.Upstream.Count("/quotes/who")).Should().Be(before);
        (await GetAsync(gateway)).Status.Should().Be(HttpStatusCode.OK, "a client without a session is served");
    }

    [Fact]
    public async Task A_key_that_names_no_instance_starts_a_new_session()
    {
        await using var gateway = await StartAsync();

        var forged = await GetAsync(gateway, cookie: $"{Cookie}=0000%3Cscript%3E");

        forged.Status.Should().Be(HttpStatusCode.OK);
        forged.Key.Should().StartWith(Cookie + "=");
    }

    [Fact]
    public async Task With_Return503_a_key_that_names_no_instance_is_refused_too()
    {
        await using var gateway = await StartAsync(("FailurePolicy", "Return503"));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/quotes/who");
        request.Headers.Add("Cookie", $"{Cookie}=0123456789abcdef01234567");
        using var response = await gateway.Client.SendAsync(request);

        await ProblemAssertions.ShouldBeProblemAsync(response, 503);
    }

    [Fact]
    public async Task By_header_the_key_is_answered_in_the_header_and_sent_back_in_it()
    {
        await using var gateway = await StartAsync(("Policy", "Header"), ("AffinityKeyName", "X-Affinity"));

        var first = await GetAsync(gateway, header: ("X-Affinity", "none-yet"));
        first.Key.Should().NotBeNullOrEmpty().And.NotBe("none-yet");

        for (var i = 0; i < 4; i++)
        {
            var bound = await GetAsync(gateway, header: ("X-Affinity", first.Key!));
            bound.Body.Should().Be(first.Body);
            bound.Key.Should().BeNull();
        }
    }

    [Theory]
    [InlineData("AffinityKeyName", "bad name", "Cookie")]
    [InlineData("AffinityKeyName", "X-Correlation-ID", "Header")]
    [InlineData("AffinityKeyName", "Cookie", "Header")]
    [InlineData("Policy", "Url", "Cookie")]
    [InlineData("FailurePolicy", "Retry", "Cookie")]
    [InlineData("AffinityCookie:Path", "cart", "Cookie")]
    [InlineData("AffinityCookie:Path", "/a;b", "Cookie")]
    [InlineData("AffinityCookie:Domain", "not a domain", "Cookie")]
    [InlineData("AffinityCookie:MaxAge", "-00:01:00", "Cookie")]
    [InlineData("AffinityCookie:SameSite", "None", "Cookie")]
    public void A_bad_setting_is_named_by_its_key(string key, string value, string policy)
    {
        var config = ConfigValidationTests.Valid()
            .Set("Gateway:Clusters:quote-service:SessionAffinity:Enabled", true)
            .Set("Gateway:Clusters:quote-service:SessionAffinity:Policy", policy)
            .Set($"Gateway:Clusters:quote-service:SessionAffinity:{key}", value);

        FluentActions.Invoking(() => TestGateway.Build(config)).Should().Throw<Exception>()
            .Which.Message.Should().Contain($"Gateway:Clusters:quote-service:SessionAffinity:{key}");
    }
}
