using System.Buffers;
using System.Net;

namespace Gateway.Core.Forwarding;

/// <summary>
/// Streams the client's body to the upstream as it arrives, and remembers a failure on the client side so the
/// forwarder can tell "client sent too much / went away" from "upstream failed".
/// </summary>
internal sealed class StreamingRequestContent(Stream clientBody, CancellationToken clientAborted) : HttpContent
{
    private const int BufferSize = 64 * 1024;

    public Exception? ClientReadError { get; private set; }

    public long BytesSent { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                int read;
                try
                {
                    read = await clientBody.ReadAsync(buffer, clientAborted).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    ClientReadError = ex;
                    throw;
                }

                if (read == 0)
                {
                    return;
                }

                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                // Without a flush SocketsHttpHandler holds small chunks in its buffer until more arrive: a slow
                // uploader's first bytes would not reach the upstream until it had sent a buffer's worth.
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                BytesSent += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Unknown length: the Content-Length header, when the client sent one, is copied explicitly.
    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
