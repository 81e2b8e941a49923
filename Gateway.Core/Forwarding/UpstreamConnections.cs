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
/// (<see cref="ServiceCluster.ConnectionsGeneration"/>); the certificate files behind them are followed.
/// </summary>
public sealed partial class UpstreamConnections(ServiceRegistry registry, ILogger<UpstreamConnections> logger)
{
    private readonly ConcurrentDictionary<string, ClusterConnections> _clusters = new(StringComparer.OrdinalIgnoreCase);

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
            .Select(cluster => (cluster.Id, For(cluster).ClientCertificate?.Current));

    private sealed record ClusterConnections(int Generation, Action<SocketsHttpHandler> Configure, WatchedPemFiles<X509Certificate2>? ClientCertificate);

    private ClusterConnections For(ServiceCluster cluster)
    {
        var generation = cluster.ConnectionsGeneration;
        if (_clusters.TryGetValue(cluster.Id, out var built) && built.Generation == generation)
        {
            return built;
        }

        return _clusters[cluster.Id] = Build(cluster.Id, generation, cluster.Config.HttpClient);
    }

    private ClusterConnections Build(string clusterId, int generation, ClusterHttpClientConfig config)
    {
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
            validate = (_, certificate, presented, errors) => authorities.Current is { } current && ChainsTo(certificate, presented, errors, current);
        }

        LocalCertificateSelectionCallback? select = null;
        WatchedPemFiles<X509Certificate2>? client = null;
        if (!string.IsNullOrEmpty(config.ClientCertificatePath))
        {
            var (certificatePath, keyPath, keyPassword) = (config.ClientCertificatePath, config.ClientKeyPath, config.ClientKeyPassword);
            client = new WatchedPemFiles<X509Certificate2>(
                string.IsNullOrEmpty(keyPath) ? [certificatePath] : [certificatePath, keyPath],
                () => PemFiles.LoadClientCertificate(certificatePath, keyPath, keyPassword),
                loaded => ClientCertificateLoaded(logger, clusterId, loaded.Subject, loaded.NotAfter, loaded.NotAfter < DateTime.Now ? " (expired)" : string.Empty),
                ex => CertificateLoadFailed(logger, clusterId, certificatePath, ex.Message));
            select = (_, _, _, _, _) => client.Current!;
        }

        var maxConnections = config.MaxConnectionsPerServer;
        return new ClusterConnections(generation, handler =>
        {
            if (maxConnections is { } max)
            {
                handler.MaxConnectionsPerServer = max;
            }

            if (validate is not null)
            {
                handler.SslOptions.RemoteCertificateValidationCallback = validate;
            }

            if (select is not null)
            {
                handler.SslOptions.LocalCertificateSelectionCallback = select;
            }
        }, client);
    }

    /// <summary>
    /// The destination's certificate judged against the cluster's authorities instead of the system's. Every other
    /// check the TLS stack made stands: a certificate for another host name, or none at all, is refused.
    /// </summary>
    internal static bool ChainsTo(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection authorities)
    {
        if (certificate is not X509Certificate2 leaf || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
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
