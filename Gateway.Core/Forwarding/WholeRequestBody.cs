using Gateway.Core.Observability;
using Microsoft.AspNetCore.Http;

namespace Gateway.Core.Forwarding;

/// <summary>
/// A request body the gateway reads whole before it decides (a signature to check, a body to validate), and then
/// sends on from memory.
/// </summary>
public static class WholeRequestBody
{
    /// <summary>
    /// The body, or null when the answer is written (413 past <paramref name="cap"/> bytes, 400 for a body Kestrel
    /// could not read) or the client went away mid-body, with nobody left to answer.
    /// </summary>
    public static async Task<byte[]?> ReadAsync(HttpContext context, long cap)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Request.ContentLength > cap)
        {
            await TooLargeAsync(context, cap);
            return null;
        }

        try
        {
            return await ReadAsync(context.Request.Body, cap, context.RequestAborted);
        }
        catch (InvalidDataException)
        {
            await TooLargeAsync(context, cap);
        }
        catch (BadHttpRequestException bad)
        {
            await GatewayProblems.WriteUnreadableBodyAsync(context, bad);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException && context.RequestAborted.IsCancellationRequested)
        {
        }

        return null;
    }

    /// <summary>Hands the body read to whatever reads the request next (the forwarder).</summary>
    public static void Replace(HttpContext context, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Request.Body = new MemoryStream(body, writable: false);
        context.Request.ContentLength = body.Length;
    }

    private static ValueTask TooLargeAsync(HttpContext context, long cap) =>
        GatewayProblems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"The request body exceeds {cap} bytes.");

    private static async Task<byte[]> ReadAsync(Stream source, long cap, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > cap)
            {
                throw new InvalidDataException("over the cap");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
