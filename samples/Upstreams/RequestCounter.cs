using System.Collections.Concurrent;

namespace Upstreams;

/// <summary>How many requests each "METHOD /path" received, and how many delayed requests were cancelled.</summary>
internal sealed class RequestCounter
{
    private long _cancelled;

    public ConcurrentDictionary<string, long> Counts { get; } = new(StringComparer.Ordinal);

    public long Cancelled => Interlocked.Read(ref _cancelled);

    public void Count(string method, string path) => Counts.AddOrUpdate(method + " " + path, 1, static (_, n) => n + 1);

    public void CountCancelled() => Interlocked.Increment(ref _cancelled);

    public void Reset()
    {
        Counts.Clear();
        Interlocked.Exchange(ref _cancelled, 0);
    }
}

internal sealed class RequestCounterMiddleware(RequestDelegate next, RequestCounter counter)
{
    public Task InvokeAsync(HttpContext context)
    {
        counter.Count(context.Request.Method, context.Request.Path.Value ?? "/");
        return next(context);
    }
}
