using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// The real OpenID provider of <c>testinfra/oidc-server.mjs</c> (panva/oidc-provider on Node) on a loopback port:
/// discovery, JWKS and RS256 access tokens by client credentials. Restarting it on the same port is a key rotation.
/// </summary>
public sealed class OidcProvider : IAsyncDisposable
{
    private const string Secret = "gateway-tests-secret";
    private ExternalProcess? _process;
    private readonly HttpClient _http = new();

    private OidcProvider(int port, string audience)
    {
        Port = port;
        Audience = audience;
    }

    /// <summary>The audience its access tokens carry (the gateway's <c>Gateway:Auth:Audience</c>).</summary>
    public string Audience { get; }

    public int Port { get; }

    public string Issuer => $"http://127.0.0.1:{Port}";

    public static async Task<OidcProvider> StartAsync(string audience = "gateway-api")
    {
        var provider = new OidcProvider(Ports.Free(), audience);
        await provider.StartProcessAsync();
        return provider;
    }

    /// <summary>Stops and starts it on the same port: same issuer, a new signing key.</summary>
    public async Task RotateKeyAsync()
    {
        await _process!.DisposeAsync();
        await StartProcessAsync();
    }

    /// <summary>An access token for one of the provider's clients (gateway-admin, -customer, -reader, -short, -keycloak).</summary>
    public async Task<string> TokenAsync(string client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Issuer + "/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["scope"] = "api:read",
                ["resource"] = "urn:gateway:api",
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes($"{client}:{Secret}")));
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    /// <summary>Gateway settings for this provider as the authority.</summary>
    public GatewayConfig Configure(GatewayConfig config) => config
        .Set("Gateway:Auth:Authority", Issuer)
        .Set("Gateway:Auth:Audience", Audience)
        .Set("Gateway:Auth:RequireHttpsMetadata", false)
        .Set("Gateway:Auth:KeyRefreshInterval", "00:00:01")
        .Set("Gateway:Auth:RoleClientId", "b-commerce-gateway");

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }

    private async Task StartProcessAsync()
    {
        _process = ExternalProcess.Start("node", [Repo.File("testinfra", "oidc-server.mjs")],
            new Dictionary<string, string> { ["PORT"] = Port.ToString(CultureInfo.InvariantCulture), ["AUDIENCE"] = Audience }, Repo.File("testinfra"));
        await _process.WaitForLineAsync("OIDC_READY", TimeSpan.FromSeconds(30));
    }
}
