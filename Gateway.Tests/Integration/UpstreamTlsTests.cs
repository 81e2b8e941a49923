using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Gateway.Core.Discovery;
using Gateway.Core.Forwarding;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Gateway.Tests.Integration;

/// <summary>
/// A cluster's connection settings (<c>HttpClient</c>): HTTPS destinations behind a private certificate authority,
/// destinations that ask for the gateway's client certificate (mutual TLS), certificates rotated on disk, and a
/// cap on connections per destination. Real TLS handshakes over loopback with certificates made by the test.
/// </summary>
public sealed class UpstreamTlsTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    internal static GatewayConfig Service(string address) => new GatewayConfig()
        .Route("svc", "/api/v1/svc/{**rest}", "svc", "GET")
        .Set("Gateway:Routes:svc:Transform:PathRemovePrefix", "/api/v1/svc")
        .Cluster("svc", address)
        .Set("Gateway:Clusters:svc:HealthCheck:Interval", "00:00:00.100")
        .Set("Gateway:Clusters:svc:HealthCheck:UnhealthyThreshold", 1)
        .Set("Gateway:Clusters:svc:HealthCheck:HealthyThreshold", 1)
        .Set("Gateway:Clusters:svc:CircuitBreaker:Enabled", false);

    /// <summary>The certificate in these files presented to the upstream, whose only connections are the test's calls.</summary>
    private static GatewayConfig PresentingWithoutProbes(TlsUpstream upstream, TestCertificates certificates, string certificatePath, string keyPath) =>
        Service(upstream.Url)
            .Set("Gateway:Clusters:svc:HealthCheck:Enabled", false)
            .Set("Gateway:Clusters:svc:HttpClient:CaCertificatePath", certificates.AuthorityPath)
            .Set("Gateway:Clusters:svc:HttpClient:ClientCertificatePath", certificatePath)
            .Set("Gateway:Clusters:svc:HttpClient:ClientKeyPath", keyPath);

    internal static ServiceInstance Instance(TestGateway gateway) =>
        gateway.Services.GetRequiredService<ServiceRegistry>().Get("svc").Instances.Single();

    private static async Task<string> ClientSeenBy(TestGateway gateway) => (await WhoAmI(gateway)).GetProperty("client").GetString()!;

    /// <summary>What the destination saw of the gateway's connection: its client certificate and TLS version.</summary>
    internal static async Task<JsonElement> WhoAmI(TestGateway gateway)
    {
        using var response = await gateway.Client.GetAsync("/api/v1/svc/whoami");
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task A_destination_certified_by_the_cluster_authority_is_reached_and_probed_over_that_trust()
    {
        using var certificates = new TestCertificates();
        await using var upstream = await TlsUpstream.StartAsync(certificates.Server("127.0.0.1"));
        await using var gateway = await TestGateway.StartAsync(Service(upstream.Url)
            .Set("Gateway:Clusters:svc:HttpClient:CaCertificatePath", certificates.AuthorityPath));

        (await ClientSeenBy(gateway)).Should().Be("none");
        await Poll.UntilAsync(() => upstream.Probes >= 2, Deadline, "probes to complete their handshakes");
        Instance(gateway).IsSelectable.Should().BeTrue();
    }

    [Fact]
    public async Task Without_the_authority_the_handshake_is_refused_the_call_is_a_502_and_the_probes_take_the_instance_out()
    {
        using var certificates = new TestCertificates();
        await using var upstream = await TlsUpstream.StartAsync(certificates.Server("127.0.0.1"));
        await using var gateway = await TestGateway.StartAsync(Service(upstream.Url)
            .Set("Gateway:Clusters:svc:HealthCheck:Enabled", false));

        using (var response = await gateway.Client.GetAsync("/api/v1/svc/whoami"))
        {
            await ProblemAssertions.ShouldBeProblemAsync(response, 502);
        }

        upstream.Requests.Should().Be(0, "the system does not trust the test's authority");
        await using var probed = await TestGateway.StartAsync(Service(upstream.Url));
        await Poll.UntilAsync(() => !Instance(probed).IsSelectable, Deadline, "probes over the same trust to fail");
        upstream.Probes.Should().Be(0);
    }

    [Fact]
    public async Task Dangerous_accept_any_reaches_a_destination_nobody_certified()
    {
        using var strangers = new TestCertificates("Unknown CA");
        await using var upstream = await TlsUpstream.StartAsync(strangers.Server("somewhere.else"));
        await using var gateway = await TestGateway.StartAsync(Service(upstream.Url)
            .Set("Gateway:Clusters:svc:HttpClient:DangerousAcceptAnyServerCertificate", true));

        (await ClientSeenBy(gateway)).Should().Be("none");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task With_mutual_TLS_the_gateway_presents_its_certificate_to_calls_and_probes(bool keyInSameFile)
    {
        using var certificates = new TestCertificates();
        await using var upstream = await TlsUpstream.StartAsync(certificates.Server("127.0.0.1"), clientAuthority: certificates.Authority);
        using var client = certificates.Client("gateway-client");
        var (certificatePath, keyPath) = certificates.Write(client, "client", keyInSameFile);
        var config = Service(upstream.Url)
            .Set("Gateway:Clusters:svc:HttpClient:CaCertificatePath", certificates.AuthorityPath)
            .Set("Gateway:Clusters:svc:HttpClient:ClientCertificatePath", certificatePath);
        if (!keyInSameFile)
        {
            config.Set("Gateway:Clusters:svc:HttpClient:ClientKeyPath", keyPath);
        }

        await using var gateway = await TestGateway.StartAsync(config);

        (await ClientSeenBy(gateway)).Should().Be("CN=gateway-client");
        await Poll.UntilAsync(() => upstream.Probes >= 2, Deadline, "probes with the client certificate");
        Instance(gateway).IsSelectable.Should().BeTrue();
    }

    [Fact]
    public async Task A_client_certificate_issued_by_an_intermediate_is_presented_with_the_intermediates_its_file_holds()
    {
        using var certificates = new TestCertificates();
        // The destination trusts the root only, as a service behind a corporate PKI does: without the intermediate
        // the gateway's certificate chains to nothing it knows.
        await using var upstream = await TlsUpstream.StartAsync(certificates.Server("127.0.0.1"), clientAuthority: certificates.Authority);
        var (client, intermediate) = certificates.ClientThroughIntermediate("gateway-client");
        using var leaf = client;
        using var issuer = intermediate;
        var (certificatePath, keyPath) = certificates.Write(leaf, "client", keyInSameFile: false, keyPassword: null, issuer);
        await using var gateway = await TestGateway.StartAsync(Service(upstream.Url)
            .Set("Gateway:Clusters:svc:HttpClient:CaCertificatePath", certificates.AuthorityPath)
            .Set("Gateway:Clusters:svc:HttpClient:ClientCertificatePath", certificatePath)
            .Set("Gateway:Clusters:svc:HttpClient:ClientKeyPath", keyPath));

        (await ClientSeenBy(gateway)).Should().Be("CN=gateway-client");
        await Poll.UntilAsync(() => upstream.Probes >= 2, Deadline, "probes with the client certificate and its intermediate");
        Instance(gateway).IsSelectable.Should().BeTrue();
    }

    [Fact]
    public async Task An_encrypted_client_key_is_decrypted_with_its_password()
    {
        using var certificates = new TestCertificates();
        await using var upstream = await TlsUpstream.StartAsync(certificates.Server("127.0.0.1"), clientAuthority: certificates.Authority);
        using var client = certificates.Client("gateway-client");
        var (certificatePath, keyPath) = certificates.Write(client, "client", keyPassword: "pkcs8-pass-2026");
        File.ReadAllText(keyPath).Should().Contain("ENCRYPTED PRIVATE KEY");
        await using var gateway = await TestGateway.StartAsync(Service(upstream.Url)
            .Set("Gateway:Clusters:svc:HttpClient:CaCertificatePath", certificates.AuthorityPath)
            .Set("Gateway:Clusters:svc:HttpClient:ClientCertificatePath", certificatePath)
            .Set("Gateway:Clusters:svc:HttpClient:ClientKeyPath", keyPath)
            .Set("Gateway:Clusters:svc:HttpClient:ClientKeyPassword", "pkcs8-pass-2026"));

        (await ClientSeenBy(gateway)).Should().Be("CN=gateway-client");
    }

    /// <summary>A certificate of the trusted authority for another host; a destination that asks for a certificate the cluster has none of.</summary>
    [Theory]
    [InlineData("orders.internal", false)]
    [InlineData("127.0.0.1", true)]
    public async Task A_handshake_refused_by_either_side_is_a_502_and_reaches_nothing(string certifiedName, bool asksForCertificate)
    {
        using var certificates = new TestCertificates();
        await using var upstream = await TlsUpstream.StartAsync(certificates.Server(certifiedName), clientAuthority: asksForCertificate ? certificates.Authority : null);
        await using var gateway = await TestGateway.StartAsync(Service(upstream.Url)
            .Set("Gateway:Clusters:svc:HealthCheck:Enabled", false)
            .Set("Gateway:Clusters:svc:HttpClient:CaCertificatePath", certificates.AuthorityPath));

        using var response = await gateway.Client.GetAsync("/api/v1/svc/whoami");

        await ProblemAssertions.ShouldBeProblemAsync(response, 502);
        upstream.Requests.Should().Be(0);
    }

    [Fact]
    public async Task A_client_certificate_rotated_on_disk_is_presented_on_new_connections_and_a_half_written_one_is_not()
    {
        using var certificates = new TestCertificates();
        await using var upstream = await TlsUpstream.StartAsync(certificates.Server("127.0.0.1"), clientAuthority: certificates.Authority, closeEveryConnection: true);
        using var first = certificates.Client("client-a");
        var (certificatePath, keyPath) = certificates.Write(first, "client");
        await using var gateway = await TestGateway.StartAsync(PresentingWithoutProbes(upstream, certificates, certificatePath, keyPath));
        (await ClientSeenBy(gateway)).Should().Be("CN=client-a");

        // Each answer closes its connection: the next handshake after the files' check presents the new certificate.
        using var second = certificates.Client("client-b");
        certificates.Write(second, "client");
        await Poll.UntilAsync(async () => await ClientSeenBy(gateway) == "CN=client-b", Deadline, "the rotated certificate to be presented");

        using var third = certificates.Client("client-c");
        TestCertificates.Replace(certificatePath, third.ExportCertificatePem());
        var cluster = gateway.Services.GetRequiredService<ServiceRegistry>().Get("svc");
        var generation = cluster.ConnectionsGeneration;
        // Read now, as the check reads them: a certificate beside a key that is not its own is not loaded.
        gateway.Services.GetRequiredService<UpstreamConnections>().ClientCertificates().Single().Certificate!.Subject
            .Should().Be("CN=client-b", "the last good pair stays");
        cluster.ConnectionsGeneration.Should().Be(generation);
        (await ClientSeenBy(gateway)).Should().Be("CN=client-b");

        certificates.Write(third, "client");
        await Poll.UntilAsync(async () => await ClientSeenBy(gateway) == "CN=client-c", Deadline, "the completed rotation to be presented");
    }

    [Fact]
    public async Task A_client_certificate_that_did_not_load_for_the_first_connections_is_presented_once_its_files_load()
    {
        using var certificates = new TestCertificates();
        await using var upstream = await TlsUpstream.StartAsync(certificates.Server("127.0.0.1"), clientAuthority: certificates.Authority, closeEveryConnection: true);
        using var client = certificates.Client("client-late");
        var (certificatePath, keyPath) = certificates.Write(client, "client");
        await using var gateway = await TestGateway.StartAsync(PresentingWithoutProbes(upstream, certificates, certificatePath, keyPath)
            // Without probes to bring it back, the refused handshake below must not take the only instance out.
            .Set("Gateway:Clusters:svc:HealthCheck:UnhealthyThreshold", 1000));

        // Checked at start-up, then broken before the first connection: its handler is made without a certificate.
        using var other = certificates.Client("someone-else");
        TestCertificates.Replace(certificatePath, other.ExportCertificatePem());
        using (var refused = await gateway.Client.GetAsync("/api/v1/svc/whoami"))
        {
            refused.StatusCode.Should().Be(HttpStatusCode.BadGateway, "the destination asks for a certificate the gateway does not have");
        }

        certificates.Write(client, "client");
        await Poll.UntilAsync(async () => (await gateway.Client.GetAsync("/api/v1/svc/whoami")).StatusCode == HttpStatusCode.OK,
            Deadline, "the certificate to be presented once its files load");
        (await ClientSeenBy(gateway)).Should().Be("CN=client-late");
    }

    [Theory]
    [InlineData(30, HttpStatusCode.OK, "healthy", "valid for 14 days or more")]
    [InlineData(5, HttpStatusCode.OK, "degraded", "svc: expires in 4 days")]
    [InlineData(-1, HttpStatusCode.ServiceUnavailable, "unhealthy", "svc: expired on")]
    public async Task Health_tells_when_a_client_certificate_needs_renewing_or_has_expired(int daysLeft, HttpStatusCode status, string state, string description)
    {
        using var certificates = new TestCertificates();
        await using var upstream = await TestUpstream.StartAsync();
        using var client = certificates.Client("gateway-client", TimeSpan.FromDays(daysLeft) - TimeSpan.FromHours(1));
        var (certificatePath, keyPath) = certificates.Write(client, "client");
        await using var gateway = await TestGateway.StartAsync(Service(upstream.Url)
            .Set("Gateway:Clusters:svc:HealthCheck:Enabled", false)
            .Set("Gateway:Clusters:svc:HttpClient:ClientCertificatePath", certificatePath)
            .Set("Gateway:Clusters:svc:HttpClient:ClientKeyPath", keyPath));

        using var response = await gateway.Client.GetAsync("/health");

        response.StatusCode.Should().Be(status);
        var check = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks").GetProperty("dependencies").GetProperty("upstream-certificates");
        check.GetProperty("status").GetString().Should().Be(state);
        check.GetProperty("description").GetString().Should().Contain(description);
        check.GetProperty("svc").GetProperty("subject").GetString().Should().Be("CN=gateway-client");
        (await gateway.Client.GetAsync("/health/ready")).StatusCode.Should().Be(HttpStatusCode.OK, "one certificate never takes every replica out of rotation");
    }

    [Fact]
    public async Task MaxConnectionsPerServer_queues_calls_beyond_it_on_the_open_connections()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var connections = new ConcurrentBag<string>();
        var arrived = 0;
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/hold", async (HttpContext context) =>
        {
            connections.Add(context.Connection.Id);
            Interlocked.Increment(ref arrived);
            await release.Task.WaitAsync(context.RequestAborted);
            return Results.Ok();
        }));
        await using var gateway = await TestGateway.StartAsync(Service(upstream.Url)
            .Set("Gateway:Clusters:svc:HealthCheck:Enabled", false)
            .Set("Gateway:Clusters:svc:HttpClient:MaxConnectionsPerServer", 1));

        var calls = Enumerable.Range(0, 3).Select(_ => gateway.Client.GetAsync("/api/v1/svc/hold")).ToArray();
        await Poll.UntilAsync(() => Instance(gateway).InFlight == 3 && Volatile.Read(ref arrived) == 1, Deadline,
            "three calls in the gateway and one at the destination");
        release.SetResult();

        var responses = await Task.WhenAll(calls);
        responses.Should().OnlyContain(response => response.StatusCode == HttpStatusCode.OK);
        connections.Distinct().Should().ContainSingle("the other two calls waited for the one connection allowed");
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }
}
