using System.Buffers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Features;

namespace Upstreams;

/// <summary>
/// Test and benchmark endpoints, only with --debug-endpoints: what arrived (echo), slow and failing answers,
/// streamed bodies both ways, and request counts.
/// </summary>
internal static class DebugEndpoints
{
    private static readonly byte[] Hello = """{"success":true,"data":{"hello":"world"}}"""u8.ToArray();

    public static void Map(RouteGroupBuilder debug)
    {
        debug.Map("/echo", Echo);
        debug.Map("/echo/{**rest}", Echo);
        debug.MapGet("/delay/{ms:int}", Delay);
        debug.Map("/status/{code:int}", (int code) => code is >= 200 and < 600 && code != 204 && code != 304
            ? Results.Json(new { success = code < 400, status = code }, statusCode: code)
            : Results.StatusCode(code));
        debug.MapGet("/counts", (RequestCounter counter) => Results.Json(new { counts = counter.Counts, cancelled = counter.Cancelled }));
        debug.MapDelete("/counts", (RequestCounter counter) =>
        {
            counter.Reset();
            return Results.NoContent();
        });
        debug.MapGet("/download/{bytes:long}", Download);
        debug.MapMethods("/upload", ["POST", "PUT"], Upload).WithMetadata(new NoBodyLimit());
        debug.MapGet("/stream", Stream);
        debug.MapGet("/hello", (HttpContext context) =>
        {
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = Hello.Length;
            return context.Response.Body.WriteAsync(Hello).AsTask();
        });
        debug.MapGet("/headers-out", (HttpContext context) =>
        {
            var headers = context.Response.Headers;
            headers["X-Upstream-Custom"] = "yes";
            headers.Connection = "X-Hop-Secret";
            headers["X-Hop-Secret"] = "must-not-leak";
            headers.KeepAlive = "timeout=5";
            return Results.Json(new { success = true });
        });
    }

    private static async Task<IResult> Echo(HttpContext context, RequestCounter counter)
    {
        var bodyLength = await CountAsync(context.Request.Body, hash: null, context.RequestAborted);
        return Envelope.Ok(new
        {
            method = context.Request.Method,
            path = context.Request.Path.Value,
            rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget,
            query = context.Request.QueryString.Value,
            headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString()),
            bodyLength,
        });
    }

    private static async Task<IResult> Delay(int ms, HttpContext context, RequestCounter counter)
    {
        try
        {
            await Task.Delay(ms, context.RequestAborted);
            return Envelope.Ok(new { delayedMs = ms });
        }
        catch (OperationCanceledException)
        {
            counter.CountCancelled();
            return Results.Empty;
        }
    }

    private static async Task Download(long bytes, HttpContext context, int? chunk, int? delayMs)
    {
        var size = Math.Clamp(chunk ?? 65536, 1, 1 << 20);
        var buffer = new byte[size];
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = bytes;
        for (var sent = 0L; sent < bytes; sent += size)
        {
            var count = (int)Math.Min(size, bytes - sent);
            await context.Response.Body.WriteAsync(buffer.AsMemory(0, count), context.RequestAborted);
            if (delayMs is > 0)
            {
                await Task.Delay(delayMs.Value, context.RequestAborted);
            }
        }
    }

    private static async Task<IResult> Upload(HttpContext context, RequestCounter counter)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var bytes = await CountAsync(context.Request.Body, hash, context.RequestAborted);
        return Envelope.Ok(new { bytes, sha256 = Convert.ToHexStringLower(hash.GetHashAndReset()) });
    }

    private static async Task Stream(HttpContext context, int? chunks, int? intervalMs)
    {
        context.Response.ContentType = "text/plain";
        for (var i = 0; i < Math.Clamp(chunks ?? 5, 1, 1000); i++)
        {
            if (i > 0)
            {
                await Task.Delay(Math.Clamp(intervalMs ?? 500, 0, 60_000), context.RequestAborted);
            }

            await context.Response.WriteAsync($"chunk-{i}\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }

    private static async Task<long> CountAsync(Stream body, IncrementalHash? hash, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash?.AppendData(buffer, 0, read);
                total += read;
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed class NoBodyLimit : Microsoft.AspNetCore.Http.Metadata.IRequestSizeLimitMetadata
    {
        public long? MaxRequestBodySize => null;
    }
}
