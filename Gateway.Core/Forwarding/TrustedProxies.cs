using System.Net;
using Gateway.Core.Routing;
using Microsoft.Extensions.Options;

namespace Gateway.Core.Forwarding;

/// <summary>The peers whose X-Forwarded-* chain the gateway extends instead of replacing.</summary>
public sealed class TrustedProxies
{
    private readonly IPAddress[] _addresses;
    private readonly IPNetwork[] _networks;

    public TrustedProxies(IOptions<GatewayOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var entries = options.Value.TrustedProxies;
        _addresses = entries.Select(e => IPAddress.TryParse(e, out var ip) ? ip : null).OfType<IPAddress>().ToArray();
        _networks = entries.Where(e => e.Contains('/', StringComparison.Ordinal)).Select(IPNetwork.Parse).ToArray();
    }

    public bool IsTrusted(IPAddress? peer)
    {
        if (peer is null)
        {
            return false;
        }

        if (peer.IsIPv4MappedToIPv6)
        {
            peer = peer.MapToIPv4();
        }

        foreach (var address in _addresses)
        {
            if (address.Equals(peer))
            {
                return true;
            }
        }

        foreach (var network in _networks)
        {
            if (network.Contains(peer))
            {
                return true;
            }
        }

        return false;
    }
}
