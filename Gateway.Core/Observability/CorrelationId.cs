using System.Diagnostics;
using System.Globalization;
using Gateway.Core.Forwarding;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace Gateway.Core.Observability;

/// <summary>The request's correlation id and start time, kept as a request feature.</summary>
public sealed class CorrelationIdFeature(string id, long startTimestamp)
{
    public string Id { get; } = id;

    public long StartTimestamp { get; } = startTimestamp;
}

public static class CorrelationId
{
    public static string Get(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<CorrelationIdFeature>()?.Id ?? context.TraceIdentifier;
    }

    /// <summary>
    /// 32 lowercase hex digits from a non-cryptographic generator. A correlation id only has to be unique, not
    /// unguessable (clients choose their own freely), and <see cref="Guid.NewGuid"/> costs a read of the kernel's
    /// random device on every request that brings none.
    /// </summary>
    public static string New()
    {
        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}

/// <summary>
/// Keeps a client's correlation id when it is a sane token, otherwise makes one; returns it on every response
/// (errors included) together with the time the gateway took until the headers went out. Log lines get it from
/// the request's feature (see the log enricher), not from a logging scope: a scope per request costs more than
/// the rest of the log plumbing. While the gateway stops (<see cref="Hosting.ShutdownDrain"/>) it asks Kestrel to close
/// each connection a request comes on, gracefully, as this middleware is the first to see every request.
/// </summary>
public sealed class CorrelationIdMiddleware(RequestDelegate next, Hosting.ShutdownDrain drain)
{
    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var headers = context.Request.Headers;
        var incoming = headers[HeaderRules.CorrelationId];
        if (incoming.Count == 0)
        {
            incoming = headers[HeaderRules.RequestId];
        }

        var id = incoming.Count == 1 && HeaderRules.IsSaneToken(incoming[0]) ? incoming[0]! : CorrelationId.New();
        context.Features.Set(new CorrelationIdFeature(id, Stopwatch.GetTimestamp()));
        // Set when the headers go out, not now: the exception handler clears headers it finds on the response.
        context.Response.OnStarting(static state =>
        {
            var ctx = (HttpContext)state;
            var feature = ctx.Features.Get<CorrelationIdFeature>()!;
            var elapsed = Stopwatch.GetElapsedTime(feature.StartTimestamp);
            ctx.Response.Headers[HeaderRules.CorrelationId] = feature.Id;
            if (Activity.Current is { } activity)
            {
                ctx.Response.Headers[HeaderRules.TraceId] = activity.TraceId.ToHexString();
            }

            ctx.Response.Headers[HeaderRules.ResponseTime] = Milliseconds(elapsed.TotalMilliseconds);
            return Task.CompletedTask;
        }, context);
        if (drain.Draining)
        {
            // A stopping replica sends its clients elsewhere for their next request: Kestrel answers this one with
            // Connection: close over HTTP/1.1, and sends GOAWAY over HTTP/2.
            context.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
        }

        return next(context);
    }

    // "12.345ms" in one allocation: this runs on every response.
    private static string Milliseconds(double value)
    {
        Span<char> text = stackalloc char[32];
        if (!value.TryFormat(text[..^2], out var written, "0.###", CultureInfo.InvariantCulture))
        {
            return value.ToString("0.###", CultureInfo.InvariantCulture) + "ms";
        }

        "ms".CopyTo(text[written..]);
        return new string(text[..(written + 2)]);
    }
}
