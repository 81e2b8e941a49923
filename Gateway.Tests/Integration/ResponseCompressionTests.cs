using System.IO.Compression;
using System.Net;
using System.Text;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// A route's <c>Compress</c>: the upstream's uncompressed JSON or text goes to the client in the encoding it
/// accepts (Brotli, gzip), streamed; anything else, and every route without the setting, passes as it came.
/// </summary>
public sealed class ResponseCompressionTests : IAsyncLifetime
{
    private static readonly string Json = "[" + string.Join(',', Enumerable.Range(0, 400).Select(i => $"{{\"serviceId\":{i},\"carrier\":\"carrier-{i % 7}\",\"price\":{i * 3}.5}}")) + "]";
    private static readonly byte[] Gzipped = Gzip("already compressed by the service");
    private readonly TaskCompletionSource _releaseStream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TestUpstream _upstream = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await TestUpstream.StartAsync(app =>
        {
            app.MapGet("/{area}/json", () => Results.Text(Json, "application/json"));
            app.MapGet("/{area}/small", () => Results.Text(Json[..200], "application/json"));
            app.MapGet("/{area}/gz", (HttpContext context) =>
            {
                context.Response.Headers.ContentEncoding = "gzip";
                return Results.Bytes(Gzipped, "application/json");
            });
            app.MapGet("/{area}/png", () => Results.Bytes(Encoding.ASCII.GetBytes(new string('p', 4000)), "image/png"));
            app.MapGet("/{area}/stream", async (HttpContext context) =>
            {
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync("first part;" + new string('a', 2000));
                await context.Response.Body.FlushAsync();
                await _releaseStream.Task.WaitAsync(context.RequestAborted);
                await context.Response.WriteAsync("second part");
            });
        });
        _gateway = await TestGateway.StartAsync(new GatewayConfig()
            .Cluster("svc", _upstream.Url)
            .Route("zip", "/api/zip/{**rest}", "svc", "GET").Set("Gateway:Routes:zip:Transform:PathRemovePrefix", "/api")
            .Set("Gateway:Routes:zip:Compress", true)
            .Route("plain", "/api/plain/{**rest}", "svc", "GET").Set("Gateway:Routes:plain:Transform:PathRemovePrefix", "/api")
            .Route("cached", "/api/cached/{**rest}", "svc", "GET").Set("Gateway:Routes:cached:Transform:PathRemovePrefix", "/api")
            .Set("Gateway:Routes:cached:Compress", true)
            .Set("Gateway:Routes:cached:Cache:Duration", "00:05:00")
            .Set("Gateway:Caching:MaxBodySize", 65536));
    }

    public async Task DisposeAsync()
    {
        _releaseStream.TrySetResult();
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private async Task<(HttpResponseMessage Response, byte[] Body)> GetAsync(string path, string? acceptEncoding)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        var response = await _gateway.Client.SendAsync(request);
        return (response, await response.Content.ReadAsByteArrayAsync());
    }

    private static byte[] Gzip(string text)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return buffer.ToArray();
    }

    private static string Decode(string? encoding, byte[] body)
    {
        using Stream decoded = encoding switch
        {
            "gzip" => new GZipStream(new MemoryStream(body), CompressionMode.Decompress),
            "br" => new BrotliStream(new MemoryStream(body), CompressionMode.Decompress),
            _ => new MemoryStream(body),
        };
        using var reader = new StreamReader(decoded, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    [Fact]
    public async Task A_compressing_route_compresses_for_a_client_on_https_too()
    {
        using var certificates = new TestCertificates();
        var (certificate, key) = certificates.Write(certificates.Server("127.0.0.1"), "gateway");
        await using var gateway = await TestGateway.StartAsync(new GatewayConfig()
            .Cluster("svc", _upstream.Url)
            .Route("zip", "/api/zip/{**rest}", "svc", "GET").Set("Gateway:Routes:zip:Transform:PathRemovePrefix", "/api")
            .Set("Gateway:Routes:zip:Compress", true)
            .Set("Kestrel:Endpoints:Https:Url", "https://127.0.0.1:0")
            .Set("Kestrel:Endpoints:Https:Certificate:Path", certificate)
            .Set("Kestrel:Endpoints:Https:Certificate:KeyPath", key));
        gateway.Address.Scheme.Should().Be("https");
        using var client = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.Issuer == certificates.Authority.Subject },
        });
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway.Address, "/api/zip/json"));
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");

        using var response = await client.SendAsync(request);

        response.Content.Headers.ContentEncoding.Should().Equal("gzip");
        Decode("gzip", await response.Content.ReadAsByteArrayAsync()).Should().Be(Json);
    }

    [Theory]
    [InlineData("gzip", "gzip")]
    [InlineData("br", "br")]
    [InlineData("gzip, deflate, br", "br")]
    [InlineData(null, null)]
    [InlineData("identity", null)]
    public async Task Json_goes_to_the_client_in_the_encoding_it_accepts(string? accepted, string? expected)
    {
        var (response, body) = await GetAsync("/api/zip/json", accepted);
        using (response)
        {
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            response.Content.Headers.ContentEncoding.Should().Equal(expected is null ? [] : [expected]);
            Decode(expected, body).Should().Be(Json);
            if (expected is not null)
            {
                body.Length.Should().BeLessThan(Json.Length / 4);
                response.Headers.Vary.Should().Contain("Accept-Encoding");
                response.Content.Headers.ContentLength.Should().NotBe(Json.Length, "the upstream's length is not the compressed body's");
            }
        }
    }

    [Theory]
    [InlineData("/api/plain/json", "a route without the setting")]
    [InlineData("/api/zip/png", "an image is compressed already")]
    public async Task Other_answers_pass_as_they_came(string path, string because)
    {
        var (response, body) = await GetAsync(path, "gzip, br");
        using (response)
        {
            response.Content.Headers.ContentEncoding.Should().BeEmpty(because);
            body.Length.Should().BeGreaterThan(3000);
            response.Headers.Contains("X-Cache").Should().BeFalse("neither route caches");
        }
    }

    [Fact]
    public async Task An_answer_under_the_minimum_size_passes_as_it_came()
    {
        var (response, body) = await GetAsync("/api/zip/small", "gzip");
        using (response)
        {
            response.Content.Headers.ContentEncoding.Should().BeEmpty("200 bytes are under the 256 a compressed answer needs");
            Encoding.UTF8.GetString(body).Should().Be(Json[..200]);
        }
    }

    [Fact]
    public void A_negative_minimum_size_is_named_by_its_key() =>
        Gateway.Tests.Unit.ConfigValidationTests.Errors(Gateway.Tests.Unit.ConfigValidationTests.Valid().Set("Gateway:Compression:MinimumSize", -1))
            .Should().ContainSingle(e => e.StartsWith("Gateway:Compression:MinimumSize:", StringComparison.Ordinal));

    [Fact]
    public async Task An_answer_the_upstream_compressed_is_not_compressed_again()
    {
        var (response, body) = await GetAsync("/api/zip/gz", "gzip, br");
        using (response)
        {
            response.Content.Headers.ContentEncoding.Should().Equal("gzip");
            body.Should().Equal(Gzipped);
        }
    }

    [Fact]
    public async Task A_cached_answer_is_kept_once_and_served_in_each_clients_encoding()
    {
        var first = true;
        foreach (var accepted in new string?[] { "gzip", null, "br", "gzip" })
        {
            var (response, body) = await GetAsync("/api/cached/json", accepted);
            using (response)
            {
                response.Headers.GetValues("X-Cache").Should().Equal(first ? "MISS" : "HIT");
                first = false;
                var encoding = response.Content.Headers.ContentEncoding.SingleOrDefault();
                encoding.Should().Be(accepted, $"a client accepting {accepted ?? "nothing"} gets that");
                Decode(encoding, body).Should().Be(Json);
            }
        }

        _upstream.Count("/cached/json").Should().Be(1, "the cache keeps the upstream's answer once, uncompressed");
    }

    [Fact]
    public async Task A_websocket_on_a_compressing_route_is_tunnelled_as_it_is()
    {
        var echo = new WebSocketEcho();
        await using var upstream = await TestUpstream.StartAsync(echo.Map);
        await using var gateway = await TestGateway.StartAsync(WebSocketEcho.Routes(upstream.Url).Set("Gateway:Routes:live:Compress", true));
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.SetRequestHeader("Accept-Encoding", "gzip, br");

        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.Port}/api/v1/live/z1"), CancellationToken.None);

        System.Text.Json.JsonDocument.Parse(await WebSocketEcho.ReceiveTextAsync(socket)).RootElement
            .GetProperty("path").GetString().Should().Be("/live/z1");
        await WebSocketEcho.ExchangeAsync(socket);
    }

    [Fact]
    public async Task A_compressed_stream_reaches_the_client_before_the_upstream_has_finished()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/zip/stream");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        using var response = await _gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.Content.Headers.ContentEncoding.Should().Equal("gzip");
        await using var gzip = new GZipStream(await response.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
        var buffer = new byte[11];
        await gzip.ReadExactlyAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(15));
        Encoding.ASCII.GetString(buffer).Should().Be("first part;", "the first part is out while the upstream still holds the rest");

        _releaseStream.SetResult();
        using var reader = new StreamReader(gzip);
        (await reader.ReadToEndAsync()).Should().EndWith("second part");
    }
}
