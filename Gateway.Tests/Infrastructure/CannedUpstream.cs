using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// An upstream on a real loopback socket that answers each path with fixed bytes and closes the connection: the
/// malformed responses (an unparsable Content-Length, control characters in a value, a status of 999) that no
/// HTTP server library will write. <c>/health</c> answers 200, so the gateway's probes keep the instance in rotation.
/// </summary>
public sealed class CannedUpstream : IAsyncDisposable
{
    // Connection: close, as the socket is: without it a client keeps the connection for its next request, which
    // then fails if it is sent before the close is seen.
    private const string Healthy = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    private const string NotFound = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    private readonly TcpListener _listener;
    private readonly IReadOnlyDictionary<string, byte[]> _answers;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private CannedUpstream(IReadOnlyDictionary<string, string> answers)
    {
        // Latin-1 keeps every char below 256 as the one byte it stands for.
        _answers = answers.ToDictionary(pair => pair.Key, pair => Encoding.Latin1.GetBytes(pair.Value), StringComparer.Ordinal);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string Address => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Starts listening; <paramref name="answers"/> maps a request path to the response, byte for byte.</summary>
    public static CannedUpstream Start(IReadOnlyDictionary<string, string> answers) => new(answers);

    public async ValueTask DisposeAsync()
    {
        await AcceptLoop.StopAsync(_stop, _listener, _accepting);

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = AnswerAsync(client);
        }
    }

    private async Task AnswerAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var path = await ReadPathAsync(stream);
                var answer = path == "/health" ? Encoding.ASCII.GetBytes(Healthy)
                    : _answers.TryGetValue(path ?? string.Empty, out var canned) ? canned : Encoding.ASCII.GetBytes(NotFound);
                await stream.WriteAsync(answer, _stop.Token);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
            {
                // The gateway may close first (its own timeout, or the test ending).
            }
        }
    }

    /// <summary>The request line's path, once the whole head (up to 16 KB) has arrived; null if it never does.</summary>
    private async Task<string?> ReadPathAsync(NetworkStream stream)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var buffer = new byte[16 * 1024];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length), timeout.Token);
            if (read == 0)
            {
                return null;
            }

            length += read;
            var head = Encoding.Latin1.GetString(buffer, 0, length);
            if (head.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var parts = head[..head.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
                return parts.Length == 3 ? parts[1] : null;
            }
        }

        return null;
    }
}
