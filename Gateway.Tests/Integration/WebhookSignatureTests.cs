using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Unit;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// A route's webhook <c>Signature</c>: a carrier signs its body with a shared secret, and only a body whose HMAC
/// matches, signed recently when a timestamp is asked for, reaches the service. Anything else is a 401 problem, and
/// the service never sees it.
/// </summary>
public sealed class WebhookSignatureTests : IAsyncLifetime
{
    private const string Secret = "whsec_0123456789abcdef0123456789";
    private const string Rotated = "whsec_fedcba9876543210fedcba9876";
    private TestUpstream _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await TestUpstream.StartAsync();
        _gateway = await TestGateway.StartAsync(new GatewayConfig().Cluster("svc", _upstream.Url)
            .Route("hooks", "/api/v1/webhooks/{**rest}", "svc", "POST").Set("Gateway:Routes:hooks:Transform:PathRemovePrefix", "/api/v1")
            .Set("Gateway:Routes:hooks:Signature:Header", "X-Signature")
            .Set("Gateway:Routes:hooks:Signature:Prefix", "sha256=")
            .Set("Gateway:Routes:hooks:Signature:Secrets:0", Secret)
            .Set("Gateway:Routes:hooks:Signature:Secrets:1", Rotated)
            .Set("Gateway:Routes:hooks:Signature:MaxBodySize", 4096)
            .Stamped());
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private static string Hex(string secret, string content) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(content)));

    private async Task<HttpResponseMessage> PostAsync(string path, string body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await _gateway.Client.SendAsync(request);
    }

    [Theory]
    [InlineData("h1", Secret, true)]
    [InlineData("h2", Rotated, true)]
    [InlineData("h3", "whsec_not-the-secret-at-all-000", false)]
    public async Task A_body_signed_with_one_of_the_secrets_reaches_the_service_whole(string id, string secret, bool passes)
    {
        var body = $$"""{"event":"delivered","code":"{{id}}","note":"açúcar"}""";

        using var response = await PostAsync($"/api/v1/webhooks/{id}", body, ("X-Signature", Hex(secret, body)));

        response.StatusCode.Should().Be(passes ? HttpStatusCode.OK : HttpStatusCode.Unauthorized);
        _upstream.Count($"/webhooks/{id}").Should().Be(passes ? 1 : 0);
        if (passes)
        {
            (await response.Content.ReadAsStringAsync()).Should().Contain($"\"bodyLength\":{Encoding.UTF8.GetByteCount(body)}");
        }
        else
        {
            (await ProblemAssertions.ShouldBeProblemAsync(response, 401)).GetProperty("detail").GetString().Should().Contain("does not match");
        }
    }

    [Theory]
    [InlineData("m1", null)]
    [InlineData("m2", "sha256=zz-not-hex")]
    [InlineData("m3", "sha256=")]
    public async Task A_missing_or_malformed_signature_is_refused(string id, string? signature)
    {
        using var response = signature is null
            ? await PostAsync($"/api/v1/webhooks/{id}", "{}")
            : await PostAsync($"/api/v1/webhooks/{id}", "{}", ("X-Signature", signature));

        await ProblemAssertions.ShouldBeProblemAsync(response, 401);
        _upstream.Count($"/webhooks/{id}").Should().Be(0);
    }

    [Fact]
    public async Task A_body_changed_after_signing_is_refused_and_one_over_the_limit_is_a_413()
    {
        var signed = """{"event":"delivered","code":"c1"}""";
        using (var tampered = await PostAsync("/api/v1/webhooks/c1", signed.Replace("delivered", "returned", StringComparison.Ordinal), ("X-Signature", Hex(Secret, signed))))
        {
            await ProblemAssertions.ShouldBeProblemAsync(tampered, 401);
        }

        var large = new string('x', 5000);
        using (var tooLarge = await PostAsync("/api/v1/webhooks/c2", large, ("X-Signature", Hex(Secret, large))))
        {
            await ProblemAssertions.ShouldBeProblemAsync(tooLarge, 413);
        }

        _upstream.Count("/webhooks/c").Should().Be(0);
    }

    [Theory]
    [InlineData("t1", 0, true)]
    [InlineData("t2", -200, true)]
    [InlineData("t3", -400, false)]
    [InlineData("t4", 400, false)]
    public async Task With_a_timestamp_the_signature_covers_it_and_an_old_one_is_refused(string id, int offsetSeconds, bool passes)
    {
        var body = $$"""{"code":"{{id}}"}""";
        var stamp = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + offsetSeconds).ToString(CultureInfo.InvariantCulture);
        var signature = Convert.ToBase64String(HMACSHA512.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(stamp + "." + body)));

        using var response = await PostAsync($"/api/v1/stamped/{id}", body, ("X-Signature", signature), ("X-Timestamp", stamp));

        response.StatusCode.Should().Be(passes ? HttpStatusCode.OK : HttpStatusCode.Unauthorized);
        _upstream.Count($"/stamped/{id}").Should().Be(passes ? 1 : 0);
    }

    private static (string Stamp, string Signature) Stamped(string body)
    {
        var stamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return (stamp, Convert.ToBase64String(HMACSHA512.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(stamp + "." + body))));
    }

    [Fact]
    public async Task A_timestamped_request_sent_again_is_refused_as_a_replay()
    {
        var body = """{"code":"r1"}""";
        var (stamp, signature) = Stamped(body);

        using (var first = await PostAsync("/api/v1/stamped/r1", body, ("X-Signature", signature), ("X-Timestamp", stamp)))
        {
            first.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using var replay = await PostAsync("/api/v1/stamped/r1", body, ("X-Signature", signature), ("X-Timestamp", stamp));
        (await ProblemAssertions.ShouldBeProblemAsync(replay, 401)).GetProperty("detail").GetString().Should().Contain("used already");
        _upstream.Count("/stamped/r1").Should().Be(1);
    }

    [Fact]
    public async Task With_Redis_a_replay_to_another_replica_is_refused_too()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = $"gw-{Guid.NewGuid():N}:";
        GatewayConfig Replica() => new GatewayConfig().Cluster("svc", _upstream.Url).Stamped()
            .Set("Gateway:Redis:Configuration", redis.Configuration)
            .Set("Gateway:Redis:KeyPrefix", prefix);
        await using var one = await TestGateway.StartAsync(Replica());
        await using var two = await TestGateway.StartAsync(Replica());
        var body = """{"code":"r2"}""";
        var (stamp, signature) = Stamped(body);

        async Task<HttpResponseMessage> Send(TestGateway replica)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/stamped/r2") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.TryAddWithoutValidation("X-Signature", signature);
            request.Headers.TryAddWithoutValidation("X-Timestamp", stamp);
            return await replica.Client.SendAsync(request);
        }

        using (var first = await Send(one))
        {
            first.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using var replay = await Send(two);
        await ProblemAssertions.ShouldBeProblemAsync(replay, 401);
        _upstream.Count("/stamped/r2").Should().Be(1);
        (await redis.CliAsync("--scan", "--pattern", prefix + "idem:*")).Should().Contain("webhook:stamped:");
    }

    [Fact]
    public async Task A_signature_over_the_body_alone_does_not_pass_where_the_timestamp_is_signed()
    {
        var body = """{"code":"t5"}""";
        var stamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var bodyOnly = Convert.ToBase64String(HMACSHA512.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(body)));

        using var response = await PostAsync("/api/v1/stamped/t5", body, ("X-Signature", bodyOnly), ("X-Timestamp", stamp));

        await ProblemAssertions.ShouldBeProblemAsync(response, 401);
    }

    [Theory]
    [InlineData("Header", "Bad Header")]
    [InlineData("Secrets:0", "short")]
    [InlineData("TimestampHeader", "X Time")]
    [InlineData("Algorithm", "Md5")]
    public void A_bad_setting_is_named_by_its_key_and_no_secret_is_quoted(string key, string value)
    {
        var config = ConfigValidationTests.Valid()
            .Set("Gateway:Routes:quotes:Signature:Header", "X-Signature")
            .Set("Gateway:Routes:quotes:Signature:Secrets:0", Secret)
            .Set($"Gateway:Routes:quotes:Signature:{key}", value);

        var failure = FluentActions.Invoking(() => TestGateway.Build(config)).Should().Throw<Exception>().Which.Message;

        failure.Should().Contain($"Gateway:Routes:quotes:Signature:{key}").And.NotContain(Secret).And.NotContain("short");
    }
}

internal static class StampedRoute
{
    /// <summary>A webhook route whose sender signs <c>{timestamp}.{body}</c> with HMAC-SHA512 in base64.</summary>
    public static GatewayConfig Stamped(this GatewayConfig config) => config
        .Route("stamped", "/api/v1/stamped/{**rest}", "svc", "POST").Set("Gateway:Routes:stamped:Transform:PathRemovePrefix", "/api/v1")
        .Set("Gateway:Routes:stamped:Signature:Header", "X-Signature")
        .Set("Gateway:Routes:stamped:Signature:Encoding", "Base64")
        .Set("Gateway:Routes:stamped:Signature:Algorithm", "HmacSha512")
        .Set("Gateway:Routes:stamped:Signature:Secrets:0", "whsec_0123456789abcdef0123456789")
        .Set("Gateway:Routes:stamped:Signature:TimestampHeader", "X-Timestamp")
        .Set("Gateway:Routes:stamped:Signature:Tolerance", "00:05:00");
}
