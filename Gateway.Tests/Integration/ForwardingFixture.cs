using System.Security.Cryptography;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Integration;

/// <summary>
/// One recording upstream with endpoints that misbehave on cue, and a gateway in front with a route per case.
/// The upstream's handlers signal through TaskCompletionSources, so tests wait on events, never on time.
/// </summary>
public sealed class ForwardingFixture : IAsyncLifetime
{
    public TestUpstream Upstream { get; private set; } = null!;

    public TestGateway Gateway { get; private set; } = null!;

    public TaskCompletionSource FirstChunkSent { get; private set; } = NewSignal();

    public TaskCompletionSource ReleaseRest { get; private set; } = NewSignal();

    public TaskCompletionSource HangStarted { get; private set; } = NewSignal();

    public TaskCompletionSource HangAborted { get; private set; } = NewSignal();

    public TaskCompletionSource UploadFirstBytes { get; private set; } = NewSignal();

    public TaskCompletionSource StallAborted { get; private set; } = NewSignal();

    public static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ResetSignals()
    {
        FirstChunkSent = NewSignal();
        ReleaseRest = NewSignal();
        HangStarted = NewSignal();
        HangAborted = NewSignal();
        UploadFirstBytes = NewSignal();
        StallAborted = NewSignal();
    }

    public async Task InitializeAsync()
    {
        Upstream = await TestUpstream.StartAsync(app =>
        {
            // Headers sent before any body: chunked, so the answer carries neither a length nor a type.
            app.MapGet("/quotes/missing", async (HttpContext context) =>
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                await context.Response.StartAsync();
            });
            app.MapGet("/quotes/broken", () => Results.Text("upstream's own words", statusCode: StatusCodes.Status500InternalServerError));
            app.MapGet("/quotes/headers-out", (HttpContext context) =>
            {
                context.Response.Headers["X-Upstream-Custom"] = "yes";
                context.Response.Headers.Connection = "X-Hop";
                context.Response.Headers["X-Hop"] = "must-not-leak";
                context.Response.Headers.KeepAlive = "timeout=5";
                return Results.Ok("headers");
            });
            app.MapGet("/quotes/slow-first", async (HttpContext context) =>
            {
                await context.Response.WriteAsync("first;");
                await context.Response.Body.FlushAsync();
                FirstChunkSent.TrySetResult();
                await ReleaseRest.Task.WaitAsync(TimeSpan.FromSeconds(30));
                await context.Response.WriteAsync("rest");
            });
            // Headers and a first part, then silence: an upstream that stops in the middle of its body.
            app.MapGet("/quotes/stall", async (HttpContext context) =>
            {
                context.Response.ContentLength = 100;
                await context.Response.WriteAsync("first;");
                await context.Response.Body.FlushAsync();
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    StallAborted.TrySetResult();
                }
            });
            app.MapGet("/quotes/hang", async (HttpContext context) =>
            {
                HangStarted.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    HangAborted.TrySetResult();
                }
            });
            app.MapPost("/quotes/upload", async (HttpContext context) =>
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[65536];
                long total = 0;
                int read;
                while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
                {
                    if (total == 0)
                    {
                        UploadFirstBytes.TrySetResult();
                    }

                    hash.AppendData(buffer, 0, read);
                    total += read;
                }

                return Results.Json(new { bytes = total, sha256 = Convert.ToHexStringLower(hash.GetHashAndReset()) });
            });
            app.MapGet("/quotes/download/{bytes:long}", async (long bytes, HttpContext context) =>
            {
                var chunk = new byte[65536];
                for (long sent = 0; sent < bytes; sent += chunk.Length)
                {
                    var count = (int)Math.Min(chunk.Length, bytes - sent);
                    for (var i = 0; i < count; i++)
                    {
                        chunk[i] = (byte)((sent + i) % 251);
                    }

                    await context.Response.Body.WriteAsync(chunk.AsMemory(0, count));
                }
            });
        });

        var deadPort = Ports.Free();
        var config = GatewayConfig.Quotes(Upstream.Url)
            .Set("Gateway:Routes:quotes:Methods:2", "PUT")
            .Set("Gateway:Routes:quotes:MaxRequestBodySize", 64 * 1024 * 1024)
            .Route("small", "/api/v1/small/{**rest}", "quote-service", "POST")
            .Set("Gateway:Routes:small:Transform:PathPattern", "/quotes/{**rest}")
            .Set("Gateway:Routes:small:MaxRequestBodySize", 1000)
            .Route("preserve", "/api/v1/preserve/{**rest}", "quote-service", "GET")
            .Set("Gateway:Routes:preserve:Transform:PathPattern", "/quotes/{**rest}")
            .Set("Gateway:Routes:preserve:PreserveHost", true)
            .Route("dead", "/api/v1/dead/{**rest}", "dead-service", "GET")
            .Cluster("dead-service", $"http://127.0.0.1:{deadPort}")
            .Set("Gateway:Clusters:dead-service:HealthCheck:Enabled", false)
            .Set("Gateway:Clusters:dead-service:HealthCheck:UnhealthyThreshold", 1000)
            .Set("Gateway:Clusters:dead-service:CircuitBreaker:Enabled", false)
            .Route("stall", "/api/v1/stall", "quote-service", "GET")
            .Set("Gateway:Routes:stall:Transform:PathPattern", "/quotes/stall")
            .Set("Gateway:Routes:stall:ResponseIdleTimeout", "00:00:00.300")
            .Route("timeout", "/api/v1/timeout", "quote-service", "GET")
            .Set("Gateway:Routes:timeout:Transform:PathPattern", "/quotes/hang")
            .Set("Gateway:Routes:timeout:Timeout", "00:00:00.500")
            .Set("Gateway:Limits:MaxRequestHeadersTotalSize", 8192);
        Gateway = await TestGateway.StartAsync(config);
    }

    public async Task DisposeAsync()
    {
        ReleaseRest.TrySetResult();
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
