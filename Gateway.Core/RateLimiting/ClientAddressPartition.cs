using System.Net;
using System.Net.Sockets;

namespace Gateway.Core.RateLimiting;

/// <summary>
/// The partition an anonymous client's address counts against. An IPv6 host is given a whole /64 (RFC 6177 and
/// every ISP's practice) and may take any address in it, so a budget per address would be one per request for a
/// client that rotates; the /64 is what identifies it. IPv4-mapped addresses (a dual-stack listener's IPv4
/// clients) count as the IPv4 address they carry: masked as IPv6 they would all share one /64.
/// </summary>
public static class ClientAddressPartition
{
    public const int Ipv6PrefixLength = 64;

    public static string For(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[(Ipv6PrefixLength / 8)..].Clear();
        return new IPAddress(bytes).ToString() + "/" + Ipv6PrefixLength.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
