using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Core.Identity;

/// <summary>
/// The authority's metadata manager as JwtBearer built it, plus whether its keys were ever fetched. IdentityModel
/// swallows a failed fetch and validates with no key at all, so a gateway started while the authority is down would
/// answer every good token "invalid" (401), and clients would throw their tokens away. Knowing that no keys have
/// ever arrived lets the gateway answer 503 instead. Once fetched, the manager keeps its keys through an outage.
/// </summary>
internal sealed class AuthorityConfigurationManager(ConfigurationManager<OpenIdConnectConfiguration> inner)
    : BaseConfigurationManager, IConfigurationManager<OpenIdConnectConfiguration>
{
    private volatile bool _fetched;

    public bool HasFetchedKeys => _fetched;

    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel)
    {
        var configuration = await inner.GetConfigurationAsync(cancel).ConfigureAwait(false);
        _fetched = true;
        return configuration;
    }

    public override async Task<BaseConfiguration> GetBaseConfigurationAsync(CancellationToken cancel) =>
        await GetConfigurationAsync(cancel).ConfigureAwait(false);

    public override void RequestRefresh() => inner.RequestRefresh();
}
