using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.Core.Forwarding;

/// <summary>
/// A cluster's connections to its destinations (YARP's cluster <c>HttpClient</c>): how many, and the TLS they
/// speak to <c>https://</c> destinations, for services behind an internal CA or that ask for a client certificate.
/// </summary>
public sealed record ClusterHttpClientConfig
{
    /// <summary>Most connections open to one destination at once; none = no limit (the handler's default).</summary>
    public int? MaxConnectionsPerServer { get; init; }

    /// <summary>
    /// PEM file of the certificate authorities a destination's certificate must chain to, in place of the system's
    /// (nginx's <c>proxy_ssl_trusted_certificate</c>). The host name is checked as always.
    /// </summary>
    public string? CaCertificatePath { get; init; }

    /// <summary>PEM file of the certificate the gateway presents when a destination asks for one (mutual TLS).</summary>
    public string? ClientCertificatePath { get; init; }

    /// <summary>PEM file of that certificate's private key; none = the key is in the certificate's file.</summary>
    public string? ClientKeyPath { get; init; }

    /// <summary>
    /// The password of an encrypted key (PKCS#8 <c>ENCRYPTED PRIVATE KEY</c>), as an internal PKI hands keys out. A
    /// secret: set it from the environment or a secret store, never in a committed file; it is never logged or quoted.
    /// </summary>
    public string? ClientKeyPassword { get; init; }

    /// <summary>
    /// The TLS versions offered to destinations (YARP's <c>SslProtocols</c>), e.g. <c>Tls13</c> or <c>Tls12, Tls13</c>;
    /// none = the system's choice. A destination that speaks none of them fails its handshake: a 502, and probes take it out.
    /// </summary>
    public SslProtocols? SslProtocols { get; init; }

    /// <summary>
    /// Whether a destination's certificate is checked against its issuer's revocation list (the CRL its certificate
    /// names): <c>NoCheck</c> (the default, as the handler's), <c>Online</c> (fetched, then cached until its next
    /// update) or <c>Offline</c> (cached lists only). A certificate whose status cannot be learnt is refused, as a
    /// revoked one: the check fails closed.
    /// </summary>
    public X509RevocationMode CertificateRevocationCheckMode { get; init; } = X509RevocationMode.NoCheck;

    /// <summary>Accepts any destination certificate, checking nothing: for a local test bench only.</summary>
    public bool DangerousAcceptAnyServerCertificate { get; init; }
}
