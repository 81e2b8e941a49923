using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>The gateway against a real OpenID provider (discovery, JWKS, RS256 tokens by client credentials).</summary>
public sealed class OidcAuthTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private OidcProvider _provider = null!;
    private TestUpstream _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _provider = await OidcProvider.StartAsync();
        _upstream = await TestUpstream.StartAsync();
        var config = _provider.Configure(new GatewayConfig()
            .Route("any", "/api/any/{**rest}", "svc", "GET").Set("Gateway:Routes:any:Authorization", "Authenticated")
            .Route("admin", "/api/admin/{**rest}", "svc", "GET").Set("Gateway:Routes:admin:Authorization", "AdminOnly")
            .Route("orders", "/api/orders/{**rest}", "svc", "GET").Set("Gateway:Routes:orders:Authorization", "CustomerOrAdmin")
            .Cluster("svc", _upstream.Url)
            .Set("Gateway:Auth:ClockSkew", "00:00:00"));
        _gateway = await TestGateway.StartAsync(config);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Theory]
    [InlineData("gateway-admin", HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)]
    [InlineData("gateway-customer", HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.OK)]
    [InlineData("gateway-reader", HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden)]
    // Keycloak shapes: realm_access.roles = customer, resource_access.b-commerce-gateway.roles = admin.
    [InlineData("gateway-keycloak", HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)]
    public async Task Provider_tokens_pass_each_routes_role_policy(string client, HttpStatusCode any, HttpStatusCode admin, HttpStatusCode orders)
    {
        var token = await _provider.TokenAsync(client);
        (await Send("/api/any/x", token)).StatusCode.Should().Be(any);
        (await Send("/api/admin/x", token)).StatusCode.Should().Be(admin);
        (await Send("/api/orders/x", token)).StatusCode.Should().Be(orders);
    }

    [Fact]
    public async Task A_forbidden_request_is_a_403_problem_and_reaches_no_upstream()
    {
        var before = _upstream.Received.Count;
        using var response = await Send("/api/admin/x", await _provider.TokenAsync("gateway-reader"));
        await ProblemAssertions.ShouldBeProblemAsync(response, 403);
        _upstream.Received.Count.Should().Be(before);
    }

    [Fact]
    public async Task The_user_and_roles_go_upstream_from_the_token_and_client_sent_identity_headers_do_not()
    {
        var path = "/api/any/who-" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await _provider.TokenAsync("gateway-keycloak"));
        request.Headers.Add("X-User-Id", "spoofed");
        request.Headers.Add("X-User-Roles", "admin,root");
        request.Headers.Add("X-Auth-Tenant", "other");
        using var response = await _gateway.Client.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK);

        var seen = _upstream.Received.Single(r => r.Path == path).Headers;
        seen["X-User-Id"].Should().Be("gateway-keycloak", "the provider's client-credentials tokens carry the client as sub");
        seen["X-User-Roles"].Split(',').Should().BeEquivalentTo(["customer", "admin"], "realm roles and the configured client's roles, not another client's");
        seen.Keys.Should().NotContain(k => k.StartsWith("X-Auth-", StringComparison.OrdinalIgnoreCase));
        seen.Keys.Should().NotContain("Authorization", "the route does not forward the token");
    }

    [Fact]
    public async Task A_rotated_signing_key_is_picked_up_without_a_restart()
    {
        var old = await _provider.TokenAsync("gateway-admin");
        (await Send("/api/any/x", old)).StatusCode.Should().Be(HttpStatusCode.OK);

        await _provider.RotateKeyAsync();
        var fresh = await _provider.TokenAsync("gateway-admin");
        await Poll.UntilAsync(async () => (await Send("/api/any/x", fresh)).StatusCode == HttpStatusCode.OK, Deadline, "the new key to be fetched from the JWKS");
        using var stale = await Send("/api/any/x", old);
        stale.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the old key is no longer published");
    }

    [Fact]
    public async Task A_gateway_that_never_reached_its_authority_answers_503_instead_of_calling_a_good_token_invalid()
    {
        string token;
        GatewayConfig config;
        await using (var provider = await OidcProvider.StartAsync())
        {
            token = await provider.TokenAsync("gateway-admin");
            config = provider.Configure(new GatewayConfig()
                .Route("any", "/api/any/{**rest}", "svc", "GET").Set("Gateway:Routes:any:Authorization", "Authenticated")
                .Cluster("svc", _upstream.Url));
        }

        // The provider is gone before this gateway could fetch its keys: it cannot tell a good token from a bad one.
        await using var gateway = await TestGateway.StartAsync(config);
        var before = _upstream.Received.Count;
        using var response = await Send(gateway, "/api/any/x", token);
        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, 503);
        problem.GetProperty("code").GetString().Should().Be("authority_unavailable", "a 401 would tell the client to drop a token that may be good");
        response.Headers.RetryAfter.Should().NotBeNull();
        _upstream.Received.Count.Should().Be(before);

        using var malformed = await Send(gateway, "/api/any/x", "not-a-jwt");
        (await ProblemAssertions.ShouldBeProblemAsync(malformed, 401)).GetProperty("code").GetString().Should().Be("token_invalid", "a token that is no JWT at all is invalid whatever the keys");
    }

    [Fact]
    public async Task An_expired_provider_token_gets_401_token_expired()
    {
        var token = await _provider.TokenAsync("gateway-short");
        (await Send("/api/any/x", token)).StatusCode.Should().Be(HttpStatusCode.OK);
        await Poll.UntilAsync(async () => (await Send("/api/any/x", token)).StatusCode == HttpStatusCode.Unauthorized, Deadline, "the 2 s token to expire");
        using var response = await Send("/api/any/x", token);
        (await ProblemAssertions.ShouldBeProblemAsync(response, 401)).GetProperty("code").GetString().Should().Be("token_expired");
    }

    [Fact]
    public async Task A_bad_token_corpus_gets_401_problems_and_never_reaches_the_upstream()
    {
        var good = await _provider.TokenAsync("gateway-admin");
        var parts = good.Split('.');
        var header = JsonDocument.Parse(Base64UrlDecode(parts[0])).RootElement;
        using var http = new HttpClient();
        var jwks = await http.GetFromJsonAsync<JsonElement>(_provider.Issuer + "/jwks");
        var publicKey = Encoding.UTF8.GetBytes(jwks.GetProperty("keys")[0].GetRawText());

        var corpus = new Dictionary<string, string>
        {
            ["alg none"] = Tokens.Base64Url(Encoding.UTF8.GetBytes("""{"alg":"none","typ":"JWT"}""")) + "." + parts[1] + ".",
            ["HS256 with the RSA public key"] = Resign(parts[1], publicKey, header.GetProperty("kid").GetString()!),
            ["wrong signature"] = parts[0] + "." + parts[1] + "." + Tokens.Base64Url(new byte[256]),
            ["tampered payload"] = parts[0] + "." + Tokens.Base64Url(Encoding.UTF8.GetBytes(Base64UrlDecode(parts[1]).Replace("gateway-admin", "gateway-evil", StringComparison.Ordinal))) + "." + parts[2],
            ["truncated"] = good[..(good.Length / 2)],
            ["not base64"] = "!!!." + parts[1] + ".@@@",
            ["garbage"] = "garbage",
            ["16 KB"] = parts[0] + "." + Tokens.Base64Url(new byte[12 * 1024]) + "." + parts[2],
        };

        var before = _upstream.Received.Count;
        foreach (var (name, token) in corpus)
        {
            using var response = await Send("/api/any/x", token);
            response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, name);
            response.Headers.WwwAuthenticate.Should().NotBeEmpty(name);
            var body = await response.Content.ReadAsStringAsync();
            body.Should().NotContain(token.Length > 20 ? token[^20..] : token, $"{name}: the token is never echoed");
            await ProblemAssertions.ShouldBeProblemAsync(response, 401);
        }

        using (var missing = await _gateway.Client.GetAsync("/api/any/x"))
        {
            (await ProblemAssertions.ShouldBeProblemAsync(missing, 401)).GetProperty("code").GetString().Should().Be("token_missing");
        }

        _upstream.Received.Count.Should().Be(before);
    }

    [Fact]
    public async Task BCommerce_shipped_routes_apply_their_policies_with_a_Keycloak_style_provider()
    {
        await using var provider = await OidcProvider.StartAsync("b-commerce-gateway");
        var overrides = new Dictionary<string, string?>
        {
            ["Gateway:Auth:Authority"] = provider.Issuer,
            ["Gateway:Auth:RequireHttpsMetadata"] = "false",
        };
        foreach (var (cluster, destination) in new[] { ("client-service", "clients-1"), ("catalog-service", "catalog-1"), ("cart-service", "cart-1"), ("order-service", "orders-1") })
        {
            overrides[$"Gateway:Clusters:{cluster}:Destinations:{destination}:Address"] = _upstream.Url;
            overrides[$"Gateway:Clusters:{cluster}:HealthCheck:Enabled"] = "false";
        }

        await using var gateway = await TestGateway.StartAsync(new GatewayConfig(), builder => builder.Configuration
            .AddJsonFile(Repo.File("Gateway.Api", "gateway.bcommerce.json"), optional: false)
            .AddInMemoryCollection(overrides));
        var customer = await provider.TokenAsync("gateway-customer");
        var admin = await provider.TokenAsync("gateway-admin");

        (await Send(gateway, "/api/catalog/items", null)).StatusCode.Should().Be(HttpStatusCode.OK, "the catalog is public");
        using (var compressed = new HttpRequestMessage(HttpMethod.Get, "/api/catalog/items"))
        {
            compressed.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
            using var catalog = await gateway.Client.SendAsync(compressed);
            catalog.Content.Headers.ContentEncoding.Should().Equal(["gzip"], "the shipped catalog route compresses");
        }

        (await Send(gateway, "/api/orders/1", null)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await Send(gateway, "/api/orders/1", customer)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await Send(gateway, "/api/cart/1", customer)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await Send(gateway, "/api/clients/1", customer)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await Send(gateway, "/api/admin/catalog/items", customer)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        using var adminCatalog = await Send(gateway, "/api/admin/catalog/items", admin);
        adminCatalog.StatusCode.Should().Be(HttpStatusCode.OK);
        _upstream.Received.Should().Contain(r => r.Path == "/api/catalog/items" && r.Headers.ContainsKey("X-User-Roles") && r.Headers["X-User-Roles"].Contains("admin", StringComparison.Ordinal),
            "the admin catalog is rewritten to /api/catalog upstream");
    }

    private Task<HttpResponseMessage> Send(string path, string? token) => Send(_gateway, path, token);

    private static async Task<HttpResponseMessage> Send(TestGateway gateway, string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }

        return await gateway.Client.SendAsync(request);
    }

    private static string Resign(string payload, byte[] key, string kid)
    {
        var header = Tokens.Base64Url(Encoding.UTF8.GetBytes($$"""{"alg":"HS256","typ":"JWT","kid":"{{kid}}"}"""));
        var signature = System.Security.Cryptography.HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(header + "." + payload));
        return header + "." + payload + "." + Tokens.Base64Url(signature);
    }

    private static string Base64UrlDecode(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - (padded.Length % 4)) % 4);
        return Encoding.UTF8.GetString(Convert.FromBase64String(padded));
    }
}
