using System.Net;
using System.Net.Sockets;

namespace Gateway.Core.Forwarding;

/// <summary>
/// Addresses and CIDR ranges, IPv4 or IPv6, as configuration lists them: the trusted proxies, a route's client
/// networks. An address is a range of one. An IPv4-mapped address (a dual-stack listener's IPv4 peer) is in an IPv4
/// range, as <see cref="IPNetwork.Contains"/> reads it.
/// </summary>
public sealed class NetworkList
{
    private readonly IPNetwork[] _networks;

    private NetworkList(IPNetwork[] networks)
    {
        _networks = networks;
    }

    /// <summary>Entries checked at start-up (<c>NetworkListValidator</c>).</summary>
    public static NetworkList Parse(IEnumerable<string> entries) =>
        new([.. entries.Select(static entry => IPAddress.TryParse(entry, out var address)
            ? new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128)
            : IPNetwork.Parse(entry))]);

    public bool Contains(IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }

        foreach (var network in _networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
