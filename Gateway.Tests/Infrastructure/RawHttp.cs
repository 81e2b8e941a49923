using System.Net.Sockets;
using System.Text;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// Sends bytes exactly as written over a socket: HttpClient normalises paths (it collapses <c>..</c>) and refuses
/// malformed headers, which is what the path-escape and header-injection tests need to send.
/// </summary>
public static class RawHttp
{
    public sealed record Response(int Status, string Head, string Body);

    public static async Task<Response> SendAsync(int port, string requestHead, string body = "")
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        var request = requestHead.Replace("\n", "\r\n", StringComparison.Ordinal).Replace("\r\r\n", "\r\n", StringComparison.Ordinal);
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request + "Connection: close\r\n\r\n" + body));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        try
        {
            while ((read = await stream.ReadAsync(chunk, timeout.Token)) > 0)
            {
                buffer.Write(chunk, 0, read);
            }
        }
        catch (IOException)
        {
            // The server may reset after answering a bad request; what arrived is the answer.
        }

        var text = Encoding.Latin1.GetString(buffer.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = split < 0 ? text : text[..split];
        var status = head.Length >= 12 && int.TryParse(head.AsSpan(9, 3), out var code) ? code : 0;
        return new Response(status, head, split < 0 ? string.Empty : text[(split + 4)..]);
    }
}
