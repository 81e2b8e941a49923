using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace Gateway.Tests.Integration;

/// <summary>Bodies stream both ways, and a client that leaves cancels the upstream call.</summary>
public sealed class StreamingTests(ForwardingFixture fixture) : IClassFixture<ForwardingFixture>
{
    private HttpClient Client => fixture.Gateway.Client;

    [Fact]
    public async Task The_first_response_bytes_reach_the_client_before_the_upstream_has_finished()
    {
        fixture.ResetSignals();
        using var response = await Client.GetAsync("/api/v1/quotes/slow-first", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[6];
        await body.ReadExactlyAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        System.Text.Encoding.ASCII.GetString(buffer).Should().Be("first;");
        fixture.ReleaseRest.Task.IsCompleted.Should().BeFalse("the upstream is still holding the rest back");

        fixture.ReleaseRest.TrySetResult();
        (await new StreamReader(body).ReadToEndAsync()).Should().Be("rest");
    }

    [Fact]
    public async Task The_request_body_reaches_the_upstream_before_the_client_has_sent_all_of_it()
    {
        fixture.ResetSignals();
        var content = new GatedContent(firstChunk: new byte[1024], rest: new byte[4096], fixture.UploadFirstBytes.Task);
        using var response = await Client.PostAsync("/api/v1/quotes/upload", content);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("bytes").GetInt64().Should().Be(5120);
    }

    [Fact]
    public async Task Twenty_megabytes_pass_intact_both_ways()
    {
        var payload = RandomNumberGenerator.GetBytes(20 * 1024 * 1024);
        using var upload = await Client.PostAsync("/api/v1/quotes/upload", new ByteArrayContent(payload));
        var result = await upload.Content.ReadFromJsonAsync<JsonElement>();
        result.GetProperty("bytes").GetInt64().Should().Be(payload.Length);
        result.GetProperty("sha256").GetString().Should().Be(Convert.ToHexStringLower(SHA256.HashData(payload)));

        const long size = 20 * 1024 * 1024;
        using var download = await Client.GetAsync($"/api/v1/quotes/download/{size}", HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await download.Content.ReadAsStreamAsync();
        var buffer = new byte[81920];
        long position = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                buffer[i].Should().Be((byte)((position + i) % 251));
            }

            position += read;
        }

        position.Should().Be(size);
    }

    [Fact]
    public async Task A_client_that_goes_away_cancels_the_upstream_call()
    {
        fixture.ResetSignals();
        using var cancel = new CancellationTokenSource();
        var call = Client.GetAsync("/api/v1/quotes/hang", cancel.Token);
        await fixture.HangStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await cancel.CancelAsync();
        await FluentActions.Awaiting(() => call).Should().ThrowAsync<OperationCanceledException>();
        await fixture.HangAborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>Sends a first chunk, then waits until the upstream has it before sending the rest.</summary>
    private sealed class GatedContent(byte[] firstChunk, byte[] rest, Task upstreamHasFirstChunk) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(firstChunk);
            await stream.FlushAsync();
            await upstreamHasFirstChunk.WaitAsync(TimeSpan.FromSeconds(10));
            await stream.WriteAsync(rest);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
