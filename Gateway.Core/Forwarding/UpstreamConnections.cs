using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Gateway.Core.Discovery;
using Microsoft.Extensions.Logging;

namespace Gateway.Core.Forwarding;

/// <summary>
/// Each cluster's connection settings (<see cref="ClusterHttpClientConfig"/>) applied to the handlers that reach its
/// destinations: the forwarder's and the health prober's, so a probe is judged over the same TLS as the traffic.
/// They are read when a cluster's first handler is made, and again for the handlers of a reload that changed them
/// (<see cref="ServiceCluster.ConnectionsGeneration"/>); the certificate files behind them are followed. The client
/// certificate goes to the handshake with the intermediates of its file, which only a certificate context fixed per
/// handler carries (a selection callback gives the certificate alone), so a rotated one takes a new generation too:
/// its files are checked every <see cref="ClientCertificateCheckPeriod"/>, and new connections present it.
/// </summary>
public sealed partial class UpstreamConnections(ServiceRegistry registry, TimeProvider time, ILogger<UpstreamConnections> logger)
{
    /// <summary>How often a client certificate's files are checked for a rotation: two file stamps per cluster.</summary>
    public static readonly TimeSpan ClientCertificateCheckPeriod = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Longest a handshake waits for a revocation list it has to fetch. The fetch cannot be cancelled and holds a
    /// thread, and the runtime's own bound is longer than most routes' timeouts: a list server that does not answer
    /// would hold every new connection until the route gave up with a 504. Past this the status is unknown, which
    /// the check treats as revoked (a 502).
    /// </summary>
    public static readonly TimeSpan RevocationListFetchTimeout = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, ClusterConnections> _clusters = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _building = new();

    public void Configure(SocketsHttpHandler handler, string clusterId)
    {
        ArgumentNullException.ThrowIfNull(handler);
        For(registry.Get(clusterId)).Configure(handler);
    }

    /// <summary>
    /// The client certificate each cluster that has one presents now (null while its files do not load), read as a
    /// new connection would read it, so a rotation on disk shows here too.
    /// </summary>
    public IEnumerable<(string Cluster, X509Certificate2? Certificate)> ClientCertificates() =>
        registry.Clusters
            .Where(cluster => !string.IsNullOrEmpty(cluster.Config.HttpClient.ClientCertificatePath))
            .Select(cluster => (cluster.Id, For(cluster).ClientCertificate?.Current?.Certificate));

    private sealed record ClusterConnections(int Generation, Action<SocketsHttpHandler> Configure, WatchedPemFiles<ClientCertificate>? ClientCertificate,
        IDisposable? RotationCheck);

    private ClusterConnections For(ServiceCluster cluster)
    {
        var generation = cluster.ConnectionsGeneration;
        if (_clusters.TryGetValue(cluster.Id, out var built) && built.Generation == generation)
        {
            return built;
        }

        // One build per generation, so one rotation check runs per cluster.
        lock (_building)
        {
            if (_clusters.TryGetValue(cluster.Id, out built) && built.Generation == generation)
            {
                return built;
            }

            built?.RotationCheck?.Dispose();
            return _clusters[cluster.Id] = Build(cluster, generation, cluster.Config.HttpClient);
        }
    }

    private ClusterConnections Build(ServiceCluster cluster, int generation, ClusterHttpClientConfig config)
    {
        var clusterId = cluster.Id;
        var revocation = config.CertificateRevocationCheckMode;
        RemoteCertificateValidationCallback? validate = null;
        if (config.DangerousAcceptAnyServerCertificate)
        {
            AcceptsAnyCertificate(logger, clusterId);
#pragma warning disable CA5359 // The operator's explicit, dangerously named setting, and warned about above.
            validate = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (!string.IsNullOrEmpty(config.CaCertificatePath))
        {
            var path = config.CaCertificatePath;
            var authorities = new WatchedPemFiles<X509Certificate2Collection>(
                [path],
                () => PemFiles.LoadAuthorities(path),
                loaded => AuthoritiesLoaded(logger, clusterId, loaded.Count, path),
                ex => CertificateLoadFailed(logger, clusterId, path, ex.Message));
            validate = (_, certificate, presented, errors) => authorities.Current is { } current && ChainsTo(certificate, presented, errors, current, revocation);
        }

        WatchedPemFiles<ClientCertificate>? client = null;
        ITimer? rotationCheck = null;
        var configured = false;
        if (!string.IsNullOrEmpty(config.ClientCertificatePath))
        {
            var (certificatePath, keyPath, keyPassword) = (config.ClientCertificatePath, config.ClientKeyPath, config.ClientKeyPassword);
            client = new WatchedPemFiles<ClientCertificate>(
                string.IsNullOrEmpty(keyPath) ? [certificatePath] : [certificatePath, keyPath],
                () => PemFiles.LoadClientCredentials(certificatePath, keyPath, keyPassword),
                loaded =>
                {
                    var certificate = loaded.Certificate;
                    ClientCertificateLoaded(logger, clusterId, certificate.Subject, certificate.NotAfter, certificate.NotAfter < DateTime.Now ? " (expired)" : string.Empty);
                    if (Volatile.Read(ref configured))
                    {
                        // Handlers were made with the previous files (or none that loaded): those of the next generation
                        // present this one; requests under way finish on theirs.
                        cluster.ConnectionsChanged();
                    }
                },
                ex => CertificateLoadFailed(logger, clusterId, certificatePath, ex.Message));
            rotationCheck = time.CreateTimer(static state => _ = ((WatchedPemFiles<ClientCertificate>)state!).Current, client,
                ClientCertificateCheckPeriod, ClientCertificateCheckPeriod);
        }

        var (maxConnections, protocols) = (config.MaxConnectionsPerServer, config.SslProtocols);
        return new ClusterConnections(generation, handler =>
        {
            if (protocols is { } offered)
            {
                handler.SslOptions.EnabledSslProtocols = offered;
            }

            if (validate is null && revocation != X509RevocationMode.NoCheck)
            {
                // The system's trust judges: its chain gets the check, with the fetch bounded as below.
                handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy { RevocationMode = revocation, UrlRetrievalTimeout = RevocationListFetchTimeout };
            }

            if (maxConnections is { } max)
            {
                handler.MaxConnectionsPerServer = max;
            }

            if (validate is not null)
            {
                handler.SslOptions.RemoteCertificateValidationCallback = validate;
            }

            if (client is not null)
            {
                var certificate = client.Current;
                Volatile.Write(ref configured, true);
                handler.SslOptions.ClientCertificateContext = certificate?.Context;
            }
        }, client, rotationCheck);
    }

    /// <summary>
    /// The destination's certificate judged against the cluster's authorities instead of the system's. Every other
    /// check the TLS stack made stands: a certificate for another host name, or none at all, is refused.
    /// </summary>
    internal static bool ChainsTo(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection authorities,
        X509RevocationMode revocation)
    {
        if (certificate is not X509Certificate2 leaf || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = revocation;
        chain.ChainPolicy.UrlRetrievalTimeout = RevocationListFetchTimeout;
        if (presented is not null)
        {
            // The intermediates the destination sent.
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
        }

        return chain.Build(leaf);
    }

    [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "Cluster {Cluster} accepts any certificate from its destinations (DangerousAcceptAnyServerCertificate): its traffic can be read and altered on the way")]
    private static partial void AcceptsAnyCertificate(ILogger logger, string cluster);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Information, Message = "Cluster {Cluster} trusts {Count} certificate authorities from {Path} for its destinations")]
    private static partial void AuthoritiesLoaded(ILogger logger, string cluster, int count, string path);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Information, Message = "Cluster {Cluster} presents client certificate {Subject}, valid until {NotAfter:u}{Expired}")]
    private static partial void ClientCertificateLoaded(ILogger logger, string cluster, string subject, DateTime notAfter, string expired);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Error, Message = "Cluster {Cluster} could not load {Path}; new connections go on with what it held before, if anything: {Error}")]
    private static partial void CertificateLoadFailed(ILogger logger, string cluster, string path, string error);
}
