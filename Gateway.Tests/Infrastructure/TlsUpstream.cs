using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// An in-process Kestrel service over HTTPS on a loopback port, with the certificate the test gives it. It may ask
/// for a client certificate (mutual TLS), which must chain to the test's authority, and may close every connection
/// after one answer, so each request makes a new handshake, and may speak only some TLS versions. <c>GET /whoami</c>
/// answers who the client was and the TLS version they agreed on.
/// </summary>
public sealed class TlsUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;
    private int _probes;

    private TlsUpstream(WebApplication app)
    {
        _app = app;
    }

    public string Url { get; private set; } = string.Empty;

    /// <summary>Requests that completed a handshake and reached the service, probes excluded.</summary>
    public int Requests => Volatile.Read(ref _requests);

    public int Probes => Volatile.Read(ref _probes);

    public static async Task<TlsUpstream> StartAsync(X509Certificate2 certificate, X509Certificate2? clientAuthority = null, bool closeEveryConnection = false,
        SslProtocols protocols = SslProtocols.None)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, Ports.Free(), listen => listen.UseHttps(https =>
        {
            https.ServerCertificate = certificate;
            https.SslProtocols = protocols;
            if (clientAuthority is not null)
            {
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                // The intermediates the client sent come with the chain TLS built; only the root is trusted.
                https.ClientCertificateValidation = (client, sent, _) => ChainsTo(client, clientAuthority, sent?.ChainPolicy.ExtraStore);
            }
        })));
        var app = builder.Build();
        var upstream = new TlsUpstream(app);
        app.Use((context, next) =>
        {
            if (closeEveryConnection)
            {
                context.Response.Headers.Connection = "close";
            }

            Interlocked.Increment(ref context.Request.Path == "/health" ? ref upstream._probes : ref upstream._requests);
            return next(context);
        });
        app.MapGet("/health", () => Results.Ok("healthy"));
        app.MapGet("/whoami", (HttpContext context) => Results.Json(new
        {
            client = context.Connection.ClientCertificate?.Subject ?? "none",
            connection = context.Connection.Id,
            protocol = context.Features.Get<ITlsHandshakeFeature>()!.Protocol.ToString(),
        }));
        await app.StartAsync();
        upstream.Url = app.Urls.First().Replace("[::1]", "127.0.0.1", StringComparison.Ordinal);
        return upstream;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private static bool ChainsTo(X509Certificate2 client, X509Certificate2 authority, X509Certificate2Collection? intermediates)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.ExtraStore.AddRange(intermediates ?? []);
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(client);
    }
}
