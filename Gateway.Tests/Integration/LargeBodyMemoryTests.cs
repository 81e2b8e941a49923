using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using FluentAssertions;
using Gateway.Tests.Infrastructure;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// 100 MB each way through the gateway running as its own process, against a sample upstream process: the bodies
/// arrive intact and the gateway's peak resident memory stays flat (it streams, it never holds a body).
/// </summary>
public sealed class LargeBodyMemoryTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const long Size = 100L * 1024 * 1024;

    [Fact]
    public async Task A_100_MB_upload_and_download_pass_intact_with_the_gateways_memory_flat()
    {
        var upstreamPort = Ports.Free();
        await using var upstream = ExternalProcess.Start("dotnet", [Repo.UpstreamsDll, "--service", "quotes", "--port", upstreamPort.ToString(CultureInfo.InvariantCulture), "--debug-endpoints"]);
        await upstream.WaitForLineAsync("UPSTREAM_READY", TimeSpan.FromSeconds(30));
        var upstreamUrl = $"http://127.0.0.1:{upstreamPort}";
        await using var gateway = await GatewayProcess.StartAsync(GatewayConfig.Quotes(upstreamUrl)
            .Set("Gateway:Routes:quotes:Methods:2", "PUT")
            .Set("Gateway:Routes:quotes:MaxRequestBodySize", 200L * 1024 * 1024)
            .Set("Serilog:MinimumLevel:Default", "Warning"));

        // Warm up every path first, so the baseline includes JIT, pools and connections.
        (await gateway.Client.GetAsync("/api/v1/quotes/_debug/download/1048576")).EnsureSuccessStatusCode();
        (await gateway.Client.PostAsync("/api/v1/quotes/_debug/upload", new ByteArrayContent(new byte[1024 * 1024]))).EnsureSuccessStatusCode();
        var baseline = gateway.StatusKb("VmHWM");

        using var sent = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var upload = new HttpRequestMessage(HttpMethod.Post, "/api/v1/quotes/_debug/upload") { Content = new StreamContent(new PatternStream(Size, sent)) })
        {
            upload.Content.Headers.ContentLength = Size;
            using var response = await gateway.Client.SendAsync(upload);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            var data = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("data");
            data.GetProperty("bytes").GetInt64().Should().Be(Size);
            data.GetProperty("sha256").GetString().Should().Be(Convert.ToHexStringLower(sent.GetHashAndReset()));
        }

        var viaGateway = await HashOfAsync(gateway.Client, "/api/v1/quotes/_debug/download/" + Size);
        using var direct = new HttpClient { BaseAddress = new Uri(upstreamUrl), Timeout = TimeSpan.FromMinutes(2) };
        var fromUpstream = await HashOfAsync(direct, "/quotes/_debug/download/" + Size);
        viaGateway.Should().Be(fromUpstream);

        var growthMb = (gateway.StatusKb("VmHWM") - baseline) / 1024.0;
        output.WriteLine($"gateway peak RSS: {baseline / 1024.0:0.0} MB after warm-up, +{growthMb:0.0} MB after 100 MB up and 100 MB down");
        growthMb.Should().BeLessThan(40, $"the gateway streams 200 MB without holding them (peak grew {growthMb:0.0} MB over a {baseline / 1024} MB baseline)");
    }

    private static async Task<string> HashOfAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            total += read;
        }

        total.Should().Be(Size);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>A generated body of a given length, hashed as it is read; never held in memory.</summary>
    private sealed class PatternStream(long length, IncrementalHash hash) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            for (var i = 0; i < n; i++)
            {
                buffer[offset + i] = (byte)((_position + i) % 251);
            }

            hash.AppendData(buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
