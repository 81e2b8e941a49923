using System.Net;
using System.Net.Http.Headers;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>Who reaches the admin API and /metrics: loopback callers by default, the AdminOnly policy when configured.</summary>
public sealed class AdminAccessTests
{
    [Theory]
    [InlineData(false, null, HttpStatusCode.OK)]
    [InlineData(false, "203.0.113.7", HttpStatusCode.OK)]
    [InlineData(true, null, HttpStatusCode.OK)]
    [InlineData(true, "203.0.113.7", HttpStatusCode.Forbidden)]
    [InlineData(true, "127.0.0.1, 203.0.113.7", HttpStatusCode.Forbidden)]
    public async Task Without_a_policy_only_loopback_callers_reach_the_admin_API_even_behind_a_local_proxy(bool peerIsTrustedProxy, string? forwardedFor, HttpStatusCode expected)
    {
        await using var upstream = await NamedUpstream.StartAsync("a");
        var config = GatewayConfig.Quotes(upstream.Url).Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false);
        if (peerIsTrustedProxy)
        {
            config.Set("Gateway:TrustedProxies:0", "127.0.0.1");
        }

        await using var gateway = await TestGateway.StartAsync(config);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/services/quote-service/instances")
        {
            Content = new StringContent("""{ "id": "b", "address": "http://127.0.0.1:1" }""", System.Text.Encoding.UTF8, "application/json"),
        };
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        using var response = await gateway.Client.SendAsync(request);
        if (expected == HttpStatusCode.Forbidden)
        {
            await ProblemAssertions.ShouldBeProblemAsync(response, 403);
            (await gateway.Client.GetStringAsync("/admin/services")).Should().NotContain("\"b\"", "a refused registration changes nothing");
        }
        else
        {
            response.StatusCode.Should().Be(HttpStatusCode.Created);
        }
    }

    [Theory]
    [InlineData("/admin/services")]
    [InlineData("/admin/circuit-breakers")]
    [InlineData("/metrics")]
    public async Task Behind_AdminOnly_a_token_with_the_admin_role_is_needed_even_from_loopback(string path)
    {
        await using var upstream = await NamedUpstream.StartAsync("a");
        var config = GatewayConfig.Quotes(upstream.Url).WithSharedSecret()
            .Set("Gateway:Admin:Authorization", "AdminOnly")
            .Set("Gateway:Admin:MetricsAuthorization", "AdminOnly");
        await using var gateway = await TestGateway.StartAsync(config);

        using (var anonymous = await Send(gateway, path, token: null))
        {
            await ProblemAssertions.ShouldBeProblemAsync(anonymous, 401);
            anonymous.Headers.WwwAuthenticate.Should().NotBeEmpty();
        }

        using (var customer = await Send(gateway, path, Tokens.Hs256(new { roles = new[] { "customer" } })))
        {
            await ProblemAssertions.ShouldBeProblemAsync(customer, 403);
        }

        using var admin = await Send(gateway, path, Tokens.Hs256(new { roles = new[] { "admin" } }));
        admin.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData(true, "ops-alice")]
    [InlineData(false, "a loopback caller")]
    public async Task Each_change_through_the_admin_API_is_logged_under_one_category_with_who_made_it(bool behindPolicy, string actor)
    {
        await using var upstream = await NamedUpstream.StartAsync("a");
        var log = Path.Combine(Directory.CreateTempSubdirectory("gw-admin-log-").FullName, "gateway.log");
        var config = GatewayConfig.Quotes(upstream.Url).WithSharedSecret()
            .Set("Gateway:Clusters:quote-service:HealthCheck:Enabled", false)
            .LogToFile(log, "{SourceContext} {EventId} {Message:lj}{NewLine}");
        if (behindPolicy)
        {
            config.Set("Gateway:Admin:Authorization", "AdminOnly");
        }

        await using (var gateway = await TestGateway.StartAsync(config))
        {
            var bearer = behindPolicy ? new AuthenticationHeaderValue("Bearer", Tokens.Hs256(new { sub = "ops-alice", roles = new[] { "admin" } })) : null;
            using var register = new HttpRequestMessage(HttpMethod.Post, "/admin/services/quote-service/instances")
            {
                Content = new StringContent("""{ "id": "b", "address": "http://127.0.0.1:1" }""", System.Text.Encoding.UTF8, "application/json"),
            };
            register.Headers.Authorization = bearer;
            using (var registered = await gateway.Client.SendAsync(register))
            {
                registered.StatusCode.Should().Be(HttpStatusCode.Created);
            }

            using var remove = new HttpRequestMessage(HttpMethod.Delete, "/admin/services/quote-service/instances/b");
            remove.Headers.Authorization = bearer;
            using (var removed = await gateway.Client.SendAsync(remove))
            {
                removed.StatusCode.Should().Be(HttpStatusCode.NoContent);
            }

            await Poll.UntilAsync(
                () => LogFile.Lines(log).Count(line => line.StartsWith("Gateway.Admin ", StringComparison.Ordinal)
                    && line.TrimEnd().EndsWith($"through the admin API by {actor}", StringComparison.Ordinal)) == 2,
                TimeSpan.FromSeconds(10), "the registration and the removal to be logged with who made them");
        }

        LogFile.Lines(log).Should().Contain(line => line.Contains("Instance quote-service/b (http://127.0.0.1:1) registered", StringComparison.Ordinal));
        Directory.Delete(Path.GetDirectoryName(log)!, recursive: true);
    }

    private static async Task<HttpResponseMessage> Send(TestGateway gateway, string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await gateway.Client.SendAsync(request);
    }
}
