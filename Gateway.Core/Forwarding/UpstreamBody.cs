namespace Gateway.Core.Forwarding;

/// <summary>
/// Reads of an upstream's response body, bounded by the route's idle limit (YARP's ActivityTimeout): an upstream
/// that stops sending mid-body would otherwise hold the client's request open for as long as its connection lives.
/// A read that completes at once, as a small body that arrived with its headers does, costs nothing more; one that
/// waits gets a timer, and when it expires the response is disposed, which aborts the upstream connection and so
/// ends the read.
/// </summary>
internal static class UpstreamBody
{
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
