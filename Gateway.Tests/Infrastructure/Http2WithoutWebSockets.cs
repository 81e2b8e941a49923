using System.Net;
using System.Net.Sockets;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// An HTTP/2 server (cleartext, prior knowledge) that never announces RFC 8441's SETTINGS_ENABLE_CONNECT_PROTOCOL,
/// as many gRPC servers and older proxies do not: it sends an empty SETTINGS frame, acknowledges the client's, and
/// reads until the client goes. No request of any kind gets an answer; it counts the connections made to it.
/// Kestrel cannot play it: it announces extended CONNECT whenever it speaks HTTP/2.
/// </summary>
public sealed class Http2WithoutWebSockets : IAsyncDisposable
{
    // Frame header: 24-bit length, type 4 (SETTINGS), flags (1 = ACK), stream 0.
    private static readonly byte[] Settings = [0, 0, 0, 4, 0, 0, 0, 0, 0];
    private static readonly byte[] SettingsAck = [0, 0, 0, 4, 1, 0, 0, 0, 0];

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _clients = [];
    private readonly Task _accepting;
    private int _connections;

    public Http2WithoutWebSockets()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string Address => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public int Connections => Volatile.Read(ref _connections);

    public async ValueTask DisposeAsync()
    {
        await AcceptLoop.StopAsync(_stop, _listener, _accepting);

        lock (_clients)
        {
            _clients.ForEach(client => client.Dispose());
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            Interlocked.Increment(ref _connections);
            lock (_clients)
            {
                _clients.Add(client);
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        try
        {
            var stream = client.GetStream();
            await stream.WriteAsync(Settings, _stop.Token);
            await stream.WriteAsync(SettingsAck, _stop.Token);
            var buffer = new byte[16 * 1024];
            while (await stream.ReadAsync(buffer, _stop.Token) > 0)
            {
                // The client's preface, settings and window updates: nothing to answer.
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The client or the test went away.
        }
    }
}
