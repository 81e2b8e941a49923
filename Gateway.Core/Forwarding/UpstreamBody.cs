using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Forwarding;

/// <summary>
/// The upstream's response body on its way to the client, then its trailers. Each read is bounded by the route's idle
/// limit (YARP's ActivityTimeout): an upstream that stops sending mid-body would otherwise hold the client's request
/// open for as long as its connection lives.
/// A read that completes at once, as a small body that arrived with its headers does, costs nothing more; one that
/// waits gets a timer, and when it expires the response is disposed, which aborts the upstream connection and so
/// ends the read.
/// </summary>
internal static class UpstreamBody
{
    private const int BufferSize = 64 * 1024;

    /// <summary>Copies the body as it arrives; returns the bytes the client was sent.</summary>
    // A ValueTask: a small body is copied without waiting, and a Task<long> would then be allocated per request.
    public static async ValueTask<long> CopyAsync(HttpContext context, UpstreamCall call, HttpResponseMessage response, ILogger logger, CancellationToken cancellationToken)
    {
        long copied = 0;
        var trailers = context.Response.SupportsTrailers();
        if (response.Content.Headers.ContentLength == 0 && !trailers)
        {
            return copied;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            await using var upstream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var downstream = context.Response.Body;
            var grpcWeb = call.Route.Config.GrpcWeb;
            while (true)
            {
                int read;
                try
                {
                    read = await ReadAsync(upstream, response, buffer, call.Route.ResponseIdleTimeout, cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException or TimeoutException or ObjectDisposedException)
                {
                    if (!context.RequestAborted.IsCancellationRequested)
                    {
                        // Headers may already be on the wire: the only honest signal left is a broken connection.
                        ForwarderLog.ResponseStreamFailed(logger, call.Route.Id, call.Route.ClusterId, call.InstanceId, ex);
                        context.Abort();
                    }

                    return copied;
                }

                if (read == 0)
                {
                    if (trailers)
                    {
                        RelayTrailers(context, call, response, logger);
                    }

                    return copied;
                }

                try
                {
                    // Kestrel flushes each write, so bytes reach the client as the upstream produces them.
                    if (grpcWeb)
                    {
                        await GrpcWebTranslation.WriteAsync(context, buffer.AsMemory(0, read), cancellationToken);
                    }
                    else
                    {
                        await downstream.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    }
                    copied += read;
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException)
                {
                    ForwarderLog.ClientAborted(logger, call.Route.Id);
                    return copied;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Relays the trailers, read once the body has ended.</summary>
    private static void RelayTrailers(HttpContext context, UpstreamCall call, HttpResponseMessage response, ILogger logger)
    {
        try
        {
            UpstreamProtocol.CopyTrailers(response, context.Response);
        }
        catch (InvalidOperationException ex)
        {
            // A value Kestrel will not send (not ASCII, a control character). The body is out, so as for a body that
            // breaks off, a reset stream is the one honest signal left: a gRPC call must not end as if its status
            // had come.
            ForwarderLog.InvalidTrailer(logger, call.Route.Id, call.Route.ClusterId, call.InstanceId, ex.Message);
            context.Abort();
        }
    }

    public static ValueTask<int> ReadAsync(Stream upstream, HttpResponseMessage response, Memory<byte> buffer, TimeSpan idleLimit, CancellationToken cancellationToken)
    {
        var pending = upstream.ReadAsync(buffer, cancellationToken);
        return pending.IsCompleted ? pending : WaitAsync(pending, response, idleLimit, cancellationToken);
    }

    private static async ValueTask<int> WaitAsync(ValueTask<int> pending, HttpResponseMessage response, TimeSpan idleLimit, CancellationToken cancellationToken)
    {
        var read = pending.AsTask();
        try
        {
            return await read.WaitAsync(idleLimit, cancellationToken);
        }
        catch (TimeoutException)
        {
            response.Dispose();
            // The abandoned read fails once the connection is gone; observed here, so it is not reported as unobserved.
            _ = read.ContinueWith(static task => _ = task.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw new TimeoutException($"The upstream sent nothing for {idleLimit.TotalSeconds:0.###} s in the middle of its response.");
        }
    }
}
