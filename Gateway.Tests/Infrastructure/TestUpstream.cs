using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Infrastructure;

/// <summary>What an upstream saw of one request.</summary>
public sealed record ReceivedRequest(string Method, string Path, string RawTarget, string Query, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// An in-process Kestrel upstream on a real loopback port. It records every request it receives (so a test can
/// prove what did, or did not, reach an upstream), answers <c>/health</c>, and runs the test's own endpoints;
/// anything else gets a small JSON echo.
/// </summary>
public sealed class TestUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestUpstream(WebApplication app)
    {
        _app = app;
    }

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public string Url { get; private set; } = string.Empty;

    public int Port => new Uri(Url).Port;

    public int Count(string pathPrefix) => Received.Count(r => r.Path.StartsWith(pathPrefix, StringComparison.Ordinal));

    /// <param name="http2Only">Cleartext HTTP/2 by prior knowledge (h2c), which Kestrel speaks only on a port that speaks nothing else.</param>
    public static async Task<TestUpstream> StartAsync(Action<WebApplication>? map = null, int port = 0, bool http2Only = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            if (http2Only)
            {
                k.Listen(System.Net.IPAddress.Loopback, port, listen => listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
            }
        });
        var app = builder.Build();
        var upstream = new TestUpstream(app);
        app.Use((context, next) =>
        {
            if (context.Request.Path != "/health")
            {
                upstream.Received.Enqueue(new ReceivedRequest(
                    context.Request.Method,
                    context.Request.Path.Value ?? string.Empty,
                    context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty,
                    context.Request.QueryString.Value ?? string.Empty,
                    context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
            }

            return next(context);
        });
        app.MapGet("/health", () => Results.Ok("healthy"));
        map?.Invoke(app);
        app.MapFallback(async (HttpContext context) =>
        {
            var length = 0L;
            var buffer = new byte[16384];
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
            {
                length += read;
            }

            return Results.Json(new { method = context.Request.Method, path = context.Request.Path.Value, query = context.Request.QueryString.Value, bodyLength = length });
        });
        await app.StartAsync();
        upstream.Url = app.Urls.First();
        return upstream;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
