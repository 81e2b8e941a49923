using System.Net;
using System.Net.Sockets;

namespace Gateway.Tests.Infrastructure;

public static class Ports
{
    // A port handed out by the OS for port 0 lies in the ephemeral range, which the OS also gives to every outgoing
    // connection: between our probe and a child process binding it, a client socket of another test could take it
    // ("address already in use"). Ports below that range are never handed to outgoing connections, and the counter keeps
    // this process from handing the same one out twice.
    private const int WindowLow = 20_000;
    private static readonly int WindowHigh = EphemeralLow() is var low and > WindowLow + 2_000 ? low : 0;
    private static int _offset = Random.Shared.Next(0, 10_000);

    /// <summary>A loopback port nobody listens on right now, outside the range the OS gives to outgoing connections.</summary>
    public static int Free()
    {
        if (WindowHigh == 0)
        {
            return Probe(0) ?? throw new InvalidOperationException("no free loopback port");
        }

        for (var tries = 0; tries < WindowHigh - WindowLow; tries++)
        {
            var candidate = WindowLow + (int)((uint)Interlocked.Increment(ref _offset) % (uint)(WindowHigh - WindowLow));
            if (Probe(candidate) is { } port)
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no free loopback port in {WindowLow}-{WindowHigh}");
    }

    private static int? Probe(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static int EphemeralLow()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        if (File.Exists(range) && int.TryParse(File.ReadAllText(range).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0], out var low))
        {
            return low;
        }

        // macOS and Windows start theirs at 49152.
        return OperatingSystem.IsLinux() ? 32_768 : 49_152;
    }
}
