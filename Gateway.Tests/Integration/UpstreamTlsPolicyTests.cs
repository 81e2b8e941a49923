using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using FluentAssertions;
using Gateway.Core.Forwarding;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Gateway.Tests.Integration.UpstreamTlsTests;

namespace Gateway.Tests.Integration;

/// <summary>
/// What a cluster asks of its destinations' TLS beyond trust: the versions it offers (<c>SslProtocols</c>) and
/// whether a destination's certificate is checked against its authority's revocation list
/// (<c>CertificateRevocationCheckMode</c>). Real handshakes over loopback; the list is served over HTTP by the test,
/// at a path of its own so no list cached by an earlier run answers for it.
/// </summary>
public sealed class UpstreamTlsPolicyTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    private static GatewayConfig Trusting(string address, TestCertificates certificates, bool probed = false) =>
        Service(address)
            .Set("Gateway:Clusters:svc:HealthCheck:Enabled", probed)
            .Set("Gateway:Clusters:svc:HttpClient:CaCertificatePath", certificates.AuthorityPath);

    [Theory]
    [InlineData("Tls12", "Tls12")]
    [InlineData("Tls13", "Tls13")]
    [InlineData("Tls12, Tls13", "Tls13")]
    public async Task A_destination_is_reached_over_a_TLS_version_the_cluster_offers(string offered, string agreed)
    {
        using var certificates = new TestCertificates();
        await using var upstream = await TlsUpstream.StartAsync(certificates.Server("127.0.0.1"));
        await using var gateway = await TestGateway.StartAsync(Trusting(upstream.Url, certificates)
            .Set("Gateway:Clusters:svc:HttpClient:SslProtocols", offered));

        (await WhoAmI(gateway)).GetProperty("protocol").GetString().Should().Be(agreed);
    }

    [Fact]
    public async Task A_destination_that_speaks_none_of_the_offered_versions_is_a_502_and_probes_take_it_out()
    {
        using var certificates = new TestCertificates();
        await using var upstream = await TlsUpstream.StartAsync(certificates.Server("127.0.0.1"), protocols: SslProtocols.Tls12);
        await using var gateway = await TestGateway.StartAsync(Trusting(upstream.Url, certificates)
            .Set("Gateway:Clusters:svc:HttpClient:SslProtocols", "Tls13"));

        using (var response = await gateway.Client.GetAsync("/api/v1/svc/whoami"))
        {
            await ProblemAssertions.ShouldBeProblemAsync(response, 502);
        }

        await using var probed = await TestGateway.StartAsync(Trusting(upstream.Url, certificates, probed: true)
            .Set("Gateway:Clusters:svc:HttpClient:SslProtocols", "Tls13"));
        await Poll.UntilAsync(() => !Instance(probed).IsSelectable, Deadline, "probes over the same versions to fail");
        upstream.Requests.Should().Be(0);
        upstream.Probes.Should().Be(0);

        await using var older = await TestGateway.StartAsync(Trusting(upstream.Url, certificates)
            .Set("Gateway:Clusters:svc:HttpClient:SslProtocols", "Tls12, Tls13"));
        (await WhoAmI(older)).GetProperty("protocol").GetString().Should().Be("Tls12", "the same destination is reached once its version is offered");
    }

    [Theory]
    [InlineData("Online", true, 502)]
    [InlineData("Online", false, 200)]
    [InlineData("NoCheck", true, 200)]
    public async Task A_revoked_destination_certificate_is_refused_when_the_cluster_checks_revocation(string mode, bool revoked, int status)
    {
        using var certificates = new TestCertificates();
        await using var list = await RevocationListServer.StartAsync();
        using var certificate = certificates.Server(list.Address, "127.0.0.1");
        list.Serve(revoked ? certificates.RevocationList(certificate) : certificates.RevocationList());
        await using var upstream = await TlsUpstream.StartAsync(certificate);
        await using var gateway = await TestGateway.StartAsync(Trusting(upstream.Url, certificates)
            .Set("Gateway:Clusters:svc:HttpClient:CertificateRevocationCheckMode", mode));

        using var response = await gateway.Client.GetAsync("/api/v1/svc/whoami");

        if (status == 502)
        {
            await ProblemAssertions.ShouldBeProblemAsync(response, 502);
            upstream.Requests.Should().Be(0, "the handshake was refused");
        }
        else
        {
            ((int)response.StatusCode).Should().Be(status);
        }

        if (mode == "NoCheck")
        {
            list.Fetches.Should().Be(0, "nothing asked for the list");
        }
        else
        {
            list.Fetches.Should().BeGreaterThan(0, "the list was fetched from the certificate's distribution point");
        }
    }

    [Theory]
    [InlineData("Online")]
    [InlineData("Offline")]
    public async Task A_certificate_whose_revocation_status_cannot_be_learnt_is_refused(string mode)
    {
        using var certificates = new TestCertificates();
        // Online: the list's server answers 404. Offline: no list was ever fetched, and none will be.
        await using var list = await RevocationListServer.StartAsync();
        using var certificate = certificates.Server(list.Address, "127.0.0.1");
        await using var upstream = await TlsUpstream.StartAsync(certificate);
        await using var gateway = await TestGateway.StartAsync(Trusting(upstream.Url, certificates)
            .Set("Gateway:Clusters:svc:HttpClient:CertificateRevocationCheckMode", mode));

        using var response = await gateway.Client.GetAsync("/api/v1/svc/whoami");

        await ProblemAssertions.ShouldBeProblemAsync(response, 502);
        upstream.Requests.Should().Be(0);
        (list.Fetches > 0).Should().Be(mode == "Online", "only the online mode fetches");
    }

    [Fact]
    public async Task A_revocation_list_server_that_never_answers_fails_the_handshake_instead_of_holding_it_past_the_route_timeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(16);
        var held = new System.Collections.Concurrent.ConcurrentBag<Socket>();
        // Accepts and never answers, as a list server behind a dead backend does.
        var accepting = Task.Run(async () =>
        {
            while (true)
            {
                try
                {
                    held.Add(await silent.AcceptSocketAsync());
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    return;
                }
            }
        });
        using var certificates = new TestCertificates();
        using var certificate = certificates.Server(new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/crl/{Guid.NewGuid():N}.crl"), "127.0.0.1");
        await using var upstream = await TlsUpstream.StartAsync(certificate);
        await using var gateway = await TestGateway.StartAsync(Trusting(upstream.Url, certificates)
            .Set("Gateway:Routes:svc:Timeout", "00:01:00")
            .Set("Gateway:Clusters:svc:HttpClient:CertificateRevocationCheckMode", "Online"));

        using var response = await gateway.Client.GetAsync("/api/v1/svc/whoami");

        await ProblemAssertions.ShouldBeProblemAsync(response, 502);
        upstream.Requests.Should().Be(0);
        held.Should().NotBeEmpty("the list was asked for");
        silent.Stop();
        await accepting;
        foreach (var socket in held)
        {
            socket.Dispose();
        }
    }

    [Fact]
    public async Task Without_a_cluster_authority_the_system_trust_check_is_given_the_versions_and_the_revocation_mode()
    {
        // The system's trust store cannot hold a test's authority, so this path is read off the handler it configures.
        await using var gateway = await TestGateway.StartAsync(Service("https://127.0.0.1:1")
            .Set("Gateway:Clusters:svc:HealthCheck:Enabled", false)
            .Set("Gateway:Clusters:svc:HttpClient:SslProtocols", "Tls13")
            .Set("Gateway:Clusters:svc:HttpClient:CertificateRevocationCheckMode", "Online"));
        using var handler = new SocketsHttpHandler();

        gateway.Services.GetRequiredService<UpstreamConnections>().Configure(handler, "svc");

        handler.SslOptions.EnabledSslProtocols.Should().Be(SslProtocols.Tls13);
        handler.SslOptions.CertificateChainPolicy!.RevocationMode.Should().Be(X509RevocationMode.Online);
        handler.SslOptions.CertificateChainPolicy.UrlRetrievalTimeout.Should().Be(UpstreamConnections.RevocationListFetchTimeout);
        handler.SslOptions.CertificateChainPolicy.TrustMode.Should().Be(X509ChainTrustMode.System);
        handler.SslOptions.RemoteCertificateValidationCallback.Should().BeNull("the system's check decides");
    }

    /// <summary>A certificate authority's revocation list served over HTTP at a path made for one test: 404 until it is given one.</summary>
    private sealed class RevocationListServer : IAsyncDisposable
    {
        private readonly string _path = $"/crl/{Guid.NewGuid():N}.crl";
        private TestUpstream? _server;
        private byte[]? _list;
        private int _fetches;

        public Uri Address => new($"{_server!.Url}{_path}");

        public int Fetches => Volatile.Read(ref _fetches);

        public static async Task<RevocationListServer> StartAsync()
        {
            var list = new RevocationListServer();
            list._server = await TestUpstream.StartAsync(app => app.MapGet(list._path, () =>
            {
                Interlocked.Increment(ref list._fetches);
                return Volatile.Read(ref list._list) is { } der ? Results.Bytes(der, "application/pkix-crl") : Results.NotFound();
            }));
            return list;
        }

        public void Serve(byte[] der) => Volatile.Write(ref _list, der);

        public ValueTask DisposeAsync() => _server!.DisposeAsync();
    }
}
