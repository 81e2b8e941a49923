using System.Net.WebSockets;
using System.Text.Json;

namespace Upstreams;

/// <summary>
/// <c>GET /tracking/{code}/live</c>, a WebSocket: the shipment's tracking record as JSON text when it opens and
/// again after every new event (a refresh or a carrier's webhook), until the client closes.
/// </summary>
internal static class TrackingLive
{
    public static async Task RunAsync(HttpContext context, string code, SampleStore store)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Envelope.Error(StatusCodes.Status426UpgradeRequired, "websocket_required", "Open this address as a WebSocket.").ExecuteAsync(context);
            return;
        }

        if (!store.Shipments.TryGetValue(code, out var shipment))
        {
            await Envelope.Error(StatusCodes.Status404NotFound, "not_found", "Tracking code not found.").ExecuteAsync(context);
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        // The client sends nothing but its close; reading is how that close (or its going away) is noticed.
        var closed = DrainAsync(socket, context.RequestAborted);
        while (socket.State == WebSocketState.Open)
        {
            Task changed;
            object view;
            lock (shipment)
            {
                changed = shipment.Changed;
                view = TrackingService.View(shipment);
            }

            var json = JsonSerializer.SerializeToUtf8Bytes(new { success = true, data = view }, JsonSerializerOptions.Web);
            try
            {
                await socket.SendAsync(json, WebSocketMessageType.Text, endOfMessage: true, context.RequestAborted);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                break;
            }

            if (await Task.WhenAny(changed, closed) == closed)
            {
                break;
            }
        }

        if (socket.State == WebSocketState.CloseReceived)
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        }
    }

    private static async Task DrainAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        try
        {
            while ((await socket.ReceiveAsync(buffer, cancellationToken)).MessageType != WebSocketMessageType.Close)
            {
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The client went away without a close; the loop above ends on the socket's state.
        }
    }
}
