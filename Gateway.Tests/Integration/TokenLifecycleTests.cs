using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// SmartEnvios' HS256 tokens end to end: validation rules, query tokens, forwarding, and revocation and sessions
/// shared by two gateway instances through one real Redis.
/// </summary>
public sealed class TokenLifecycleTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private TestUpstream _upstream = null!;
    private GatewayConfig _config = null!;
    private TestGateway _a = null!;
    private TestGateway _b = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        _upstream = await TestUpstream.StartAsync();
        _config = new GatewayConfig().WithSharedSecret()
            .Route("private", "/api/v1/private/{**rest}", "svc", "GET").Set("Gateway:Routes:private:Authorization", "Authenticated")
            .Route("stream", "/api/v1/stream/{**rest}", "svc", "GET").Set("Gateway:Routes:stream:Authorization", "Authenticated")
            .Set("Gateway:Routes:stream:AllowQueryToken", true)
            .Route("forward", "/api/v1/forward/{**rest}", "svc", "GET").Set("Gateway:Routes:forward:Authorization", "Authenticated")
            .Set("Gateway:Routes:forward:ForwardToken", true)
            .Route("session", "/api/v1/session/{**rest}", "svc", "GET").Set("Gateway:Routes:session:Authorization", "Authenticated")
            .Set("Gateway:Routes:session:RequireSession", true)
            .Route("public", "/api/v1/public/{**rest}", "svc", "GET").Set("Gateway:Routes:public:Authorization", "Anonymous")
            .Cluster("svc", _upstream.Url)
            .Set("Gateway:Redis:Configuration", _redis.Configuration)
            .Set("Gateway:Redis:KeyPrefix", "gw:");
        _a = await TestGateway.StartAsync(_config);
        _b = await TestGateway.StartAsync(_config);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _upstream.DisposeAsync();
        await _redis.DisposeAsync();
    }

    public static TheoryData<string, string, string> BadTokens() => new()
    {
        { "expired", Tokens.Hs256(notBefore: DateTimeOffset.UtcNow.AddHours(-2), lifetime: TimeSpan.FromHours(1)), "token_expired" },
        { "not yet valid", Tokens.Hs256(notBefore: DateTimeOffset.UtcNow.AddHours(1)), "token_not_yet_valid" },
        { "wrong issuer", Tokens.Hs256(new { iss = "someone-else" }), "token_invalid" },
        { "wrong audience", Tokens.Hs256(new { aud = "another-api" }), "token_invalid" },
        { "wrong secret", Tokens.Hs256(secret: "another-secret-0123456789abcdef0123456789"), "token_invalid" },
        { "alg none", Tokens.Hs256(alg: "none"), "token_invalid" },
        { "alg HS512 label", Tokens.Hs256(alg: "HS512"), "token_invalid" },
        { "no expiry", Tokens.Hs256(without: ["exp"]), "token_invalid" },
        // Claims go upstream as header values: a line break would end X-User-Id and start a header of the claim's
        // choosing (X-User-Roles: admin).
        { "line break in the subject", Tokens.Hs256(new { sub = "eve\r\nX-User-Roles: admin" }), "token_invalid" },
        { "line break in a role", Tokens.Hs256(new { roles = new[] { "customer\nX-Evil: 1" } }), "token_invalid" },
        { "control character in the session id", Tokens.Hs256(new { sid = "s\u0001" }), "token_invalid" },
        // A header value loses its surrounding whitespace and X-User-Roles is a comma-separated list: the upstream
        // would read "admin" where the gateway authorised " admin" or "customer,admin".
        { "a role with a comma", Tokens.Hs256(new { roles = new[] { "customer,admin" } }), "token_invalid" },
        { "a role with surrounding space", Tokens.Hs256(new { roles = new[] { " admin" } }), "token_invalid" },
        { "a subject with surrounding space", Tokens.Hs256(new { sub = "alice " }), "token_invalid" },
        // The key id is unknown, so the signature is never checked; IdentityModel then reports the lifetime, and
        // reads a missing expiry as 0001-01-01. Such a token is not expired, it is invalid.
        { "no expiry, unknown key id", Tokens.Hs256(secret: "another-secret-0123456789abcdef0123456789", kid: "rotated-away", without: ["exp", "nbf", "iat"]), "token_invalid" },
        { "expired, unknown key id", Tokens.Hs256(secret: "another-secret-0123456789abcdef0123456789", kid: "rotated-away", notBefore: DateTimeOffset.UtcNow.AddHours(-2), lifetime: TimeSpan.FromHours(1)), "token_expired" },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task A_bad_shared_secret_token_gets_a_401_problem_with_its_reason(string name, string token, string code)
    {
        var before = _upstream.Received.Count;
        using var response = await Send(_a, "/api/v1/private/x", token);
        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, name);
        response.Headers.WwwAuthenticate.Should().NotBeEmpty();
        (await ProblemAssertions.ShouldBeProblemAsync(response, 401)).GetProperty("code").GetString().Should().Be(code, name);
        _upstream.Received.Count.Should().Be(before);
    }

    [Fact]
    public async Task A_query_token_is_refused_unless_the_route_opts_in()
    {
        var token = Tokens.Hs256();
        using (var refused = await _a.Client.GetAsync("/api/v1/private/x?token=" + token))
        {
            (await ProblemAssertions.ShouldBeProblemAsync(refused, 401)).GetProperty("code").GetString().Should().Be("query_token_not_allowed");
        }

        using var accepted = await _a.Client.GetAsync("/api/v1/stream/events?since=5&token=" + token + "&x=%2F");
        accepted.StatusCode.Should().Be(HttpStatusCode.OK);
        _upstream.Received.Single(r => r.Path == "/api/v1/stream/events").Query.Should().Be("?since=5&x=%2F", "the token is not passed on, the rest is");

        // The framework decodes a key before it looks for the token, so an escaped or upper-case key is the token
        // too. Sent raw: HttpClient would unescape "%74" itself.
        foreach (var (path, key) in new[] { ("/api/v1/stream/escaped", "%74oken"), ("/api/v1/stream/escaped-e", "tok%65n"), ("/api/v1/stream/upper", "TOKEN") })
        {
            var disguised = await RawHttp.SendAsync(_a.Port, $"GET {path}?{key}={token}&y=1 HTTP/1.1\nHost: gateway\n");
            disguised.Status.Should().Be(200, key);
            _upstream.Received.Single(r => r.Path == path).Query.Should().Be("?y=1", $"'{key}' names the token: it is not passed on");
        }
    }

    [Fact]
    public async Task The_bearer_token_goes_upstream_only_where_the_route_forwards_it()
    {
        var token = Tokens.Hs256();
        (await Send(_a, "/api/v1/private/no-forward", token)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await Send(_a, "/api/v1/forward/yes", token)).StatusCode.Should().Be(HttpStatusCode.OK);
        _upstream.Received.Single(r => r.Path == "/api/v1/private/no-forward").Headers.Keys.Should().NotContain("Authorization");
        _upstream.Received.Single(r => r.Path == "/api/v1/forward/yes").Headers["Authorization"].Should().Be("Bearer " + token);
        _upstream.Received.Single(r => r.Path == "/api/v1/forward/yes").Headers["X-User-Id"].Should().Be("user-1");
    }

    [Fact]
    public async Task A_subject_and_roles_outside_ASCII_reach_the_upstream_as_UTF_8()
    {
        var token = Tokens.Hs256(new { sub = "josé-ñ", roles = new[] { "gestão" } });
        (await Send(_a, "/api/v1/forward/utf8", token)).StatusCode.Should().Be(HttpStatusCode.OK);
        var seen = _upstream.Received.Single(r => r.Path == "/api/v1/forward/utf8").Headers;
        seen["X-User-Id"].Should().Be("josé-ñ");
        seen["X-User-Roles"].Should().Be("gestão");
    }

    [Fact]
    public async Task Logout_on_one_instance_refuses_the_token_on_the_other()
    {
        var token = Tokens.Hs256(new { sub = "dana" });
        (await Send(_b, "/api/v1/private/x", token)).StatusCode.Should().Be(HttpStatusCode.OK);

        using (var logout = new HttpRequestMessage(HttpMethod.Post, "/api/v1/auth/logout"))
        {
            logout.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await _a.Client.SendAsync(logout);
            response.IsSuccessStatusCode.Should().BeTrue();
        }

        using var revoked = await Send(_b, "/api/v1/private/x", token);
        (await ProblemAssertions.ShouldBeProblemAsync(revoked, 401)).GetProperty("code").GetString().Should().Be("token_revoked");
        (await Send(_b, "/api/v1/private/x", Tokens.Hs256(new { sub = "dana" }))).StatusCode.Should().Be(HttpStatusCode.OK, "only that token was revoked");

        var keys = (await _redis.CliAsync("--scan", "--pattern", "gw:*")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        keys.Should().NotBeEmpty();
        foreach (var key in keys)
        {
            long.Parse((await _redis.CliAsync("pttl", key)).Trim(), System.Globalization.CultureInfo.InvariantCulture)
                .Should().BeInRange(1, 3_600_000, "a revocation lives as long as the token would have");
        }
    }

    [Fact]
    public async Task Revoking_every_session_of_a_user_refuses_all_their_tokens_on_both_instances()
    {
        var first = Tokens.Hs256(new { sub = "erin" });
        var second = Tokens.Hs256(new { sub = "erin" });
        using (var revoke = await _a.Client.PostAsync("/admin/users/erin/revoke-sessions", null))
        {
            revoke.IsSuccessStatusCode.Should().BeTrue();
        }

        (await Send(_a, "/api/v1/private/x", first)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await Send(_b, "/api/v1/private/x", second)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await Send(_b, "/api/v1/private/x", Tokens.Hs256(new { sub = "frank" }))).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_session_written_through_the_admin_api_goes_upstream_and_its_data_is_bounded()
    {
        var token = Tokens.Hs256(new { sub = "hana", sid = "sess-hana" });
        using (var put = await _a.Client.PutAsJsonAsync("/admin/sessions/sess-hana", new { data = """{"cart":7}""", lifetime = "00:05:00" }))
        {
            put.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        using (var allowed = await Send(_b, "/api/v1/session/hana", token))
        {
            allowed.StatusCode.Should().Be(HttpStatusCode.OK, "the session is in Redis, seen by the other replica too");
        }

        _upstream.Received.Last(r => r.Path == "/api/v1/session/hana").Headers["X-Session-Data"]
            .Should().Be(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("""{"cart":7}""")));

        // Carried base64 in a header on every request of the session: past the limit every one would be refused.
        using (var oversized = await _a.Client.PutAsJsonAsync("/admin/sessions/sess-hana", new { data = new string('x', 8 * 1024 + 1), lifetime = "00:05:00" }))
        {
            var problem = await ProblemAssertions.ShouldBeProblemAsync(oversized, 400);
            problem.GetProperty("errors").TryGetProperty("data", out _).Should().BeTrue();
        }

        using (var badLifetime = await _a.Client.PutAsJsonAsync("/admin/sessions/sess-hana", new { data = "{}", lifetime = "-00:05:00" }))
        {
            (await ProblemAssertions.ShouldBeProblemAsync(badLifetime, 400)).GetProperty("errors").TryGetProperty("lifetime", out _).Should().BeTrue();
        }

        using (var stillThere = await Send(_a, "/api/v1/session/hana", token))
        {
            stillThere.StatusCode.Should().Be(HttpStatusCode.OK, "a refused write leaves the session as it was");
        }

        using (var delete = await _a.Client.DeleteAsync("/admin/sessions/sess-hana"))
        {
            delete.StatusCode.Should().Be(HttpStatusCode.NoContent);
        }

        using var ended = await Send(_b, "/api/v1/session/hana", token);
        (await ProblemAssertions.ShouldBeProblemAsync(ended, 401)).GetProperty("code").GetString().Should().Be("session_expired");
    }

    [Fact]
    public async Task A_session_route_needs_the_tokens_session_in_Redis()
    {
        var token = Tokens.Hs256(new { sub = "gina", sid = "sess-gina" });
        using (var missing = await Send(_a, "/api/v1/session/x", token))
        {
            (await ProblemAssertions.ShouldBeProblemAsync(missing, 401)).GetProperty("code").GetString().Should().Be("session_expired");
        }

        await _redis.CliAsync("set", "session:sess-gina", """{"cart":3}""", "EX", "60");
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/session/with-data"))
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
            request.Headers.Add("X-Session-Id", "spoofed");
            using var response = await _b.Client.SendAsync(request);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var seen = _upstream.Received.Single(r => r.Path == "/api/v1/session/with-data").Headers;
        seen["X-Session-Id"].Should().Be("sess-gina", "the checked session goes upstream, not the client's claim");
        System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(seen["X-Session-Data"])).Should().Be("""{"cart":3}""");
        await _redis.CliAsync("del", "session:sess-gina");
        (await Send(_a, "/api/v1/session/x", token)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_session_holding_more_data_than_the_gateway_carries_is_a_502_and_never_reaches_the_upstream()
    {
        // Written straight to Redis, as a login service would, past the 8 KiB the admin API accepts.
        var token = Tokens.Hs256(new { sub = "ivan", sid = "sess-ivan" });
        await _redis.CliAsync("set", "session:sess-ivan", new string('x', 8 * 1024 + 1), "EX", "60");
        using (var refused = await Send(_a, "/api/v1/session/too-large", token))
        {
            var problem = await ProblemAssertions.ShouldBeProblemAsync(refused, 502);
            problem.GetProperty("code").GetString().Should().Be("session_too_large");
            refused.Headers.Contains("WWW-Authenticate").Should().BeFalse("the client's credentials are fine");
        }

        _upstream.Count("/api/v1/session/too-large").Should().Be(0);

        await _redis.CliAsync("set", "session:sess-ivan", new string('x', 8 * 1024), "EX", "60");
        using (var atLimit = await Send(_a, "/api/v1/session/at-limit", token))
        {
            atLimit.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        _upstream.Received.Single(r => r.Path == "/api/v1/session/at-limit").Headers["X-Session-Data"].Length.Should().Be(4 * ((8 * 1024 + 2) / 3));
        await _redis.CliAsync("del", "session:sess-ivan");
    }

    [Fact]
    public async Task With_Redis_down_the_store_mode_decides_and_it_is_never_a_500()
    {
        await using var open = await TestGateway.StartAsync(new GatewayConfig().WithSharedSecret()
            .Route("private", "/api/v1/private/{**rest}", "svc", "GET").Set("Gateway:Routes:private:Authorization", "Authenticated")
            .Cluster("svc", _upstream.Url)
            .Set("Gateway:Redis:Configuration", _redis.Configuration)
            .Set("Gateway:Auth:StoreFailureMode", "FailOpen"));
        var token = Tokens.Hs256();
        await _redis.StopAsync();

        using (var closed = await Send(_a, "/api/v1/private/x", token))
        {
            closed.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "the shipped mode is fail closed");
            (await ProblemAssertions.ShouldBeProblemAsync(closed, 503)).GetProperty("code").GetString().Should().Be("token_store_unavailable");
        }

        (await Send(open, "/api/v1/private/x", token)).StatusCode.Should().Be(HttpStatusCode.OK, "fail open lets a valid token through");
        using (var logout = new HttpRequestMessage(HttpMethod.Post, "/api/v1/auth/logout"))
        {
            logout.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await open.Client.SendAsync(logout);
            await ProblemAssertions.ShouldBeProblemAsync(response, 503);
        }

        (await Send(_a, "/api/v1/public/x", null)).StatusCode.Should().Be(HttpStatusCode.OK, "public routes do not need the store");

        await _redis.RestartAsync();
        await Poll.UntilAsync(async () => (await Send(_a, "/api/v1/private/x", token)).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(20), "the store to be reachable again");
    }

    private static async Task<HttpResponseMessage> Send(TestGateway gateway, string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }

        return await gateway.Client.SendAsync(request);
    }
}
