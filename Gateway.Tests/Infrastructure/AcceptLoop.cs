using System.Net.Sockets;

namespace Gateway.Tests.Infrastructure;

/// <summary>The raw-socket upstreams' way to stop: cancel, stop listening, and let the accept loop end.</summary>
internal static class AcceptLoop
{
    public static async Task StopAsync(CancellationTokenSource stop, TcpListener listener, Task accepting)
    {
        await stop.CancelAsync();
        listener.Stop();
        try
        {
            await accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopping the listener ends the accept loop this way.
        }
    }
}
