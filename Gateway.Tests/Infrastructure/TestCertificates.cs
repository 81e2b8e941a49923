using System.Net;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// A private certificate authority for one test, and the certificates it issues, written as PEM files the way an
/// operator hands them to the gateway (a CA bundle, a certificate, its key). ECDSA keys: made in microseconds.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestCertificates(string name = "Gateway Test CA")
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("gateway-tls-").FullName;
        var request = new CertificateRequest($"CN={name}", _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        Authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(60));
        AuthorityPath = Path.Combine(Directory, "ca.pem");
        File.WriteAllText(AuthorityPath, Authority.ExportCertificatePem());
    }

    public string Directory { get; }

    public X509Certificate2 Authority { get; }

    /// <summary>The CA's certificate, a PEM bundle of one.</summary>
    public string AuthorityPath { get; }

    /// <summary>A server certificate for the given names (IP addresses or DNS names).</summary>
    public X509Certificate2 Server(params string[] names) => Server(revocationList: null, names);

    /// <summary>A server certificate whose revocation list is at <paramref name="revocationList"/> (its CRL distribution point).</summary>
    public X509Certificate2 Server(Uri? revocationList, params string[] names)
    {
        var alternativeNames = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var address))
            {
                alternativeNames.AddIpAddress(address);
            }
            else
            {
                alternativeNames.AddDnsName(name);
            }
        }

        X509Extension[] extensions = revocationList is null
            ? [alternativeNames.Build()]
            : [alternativeNames.Build(), CertificateRevocationListBuilder.BuildCrlDistributionPointExtension([revocationList.AbsoluteUri])];
        return Issue($"CN={names[0]}", "1.3.6.1.5.5.7.3.1", extensions);
    }

    /// <summary>The authority's revocation list (DER), naming <paramref name="revoked"/>, valid for a day.</summary>
    public byte[] RevocationList(params X509Certificate2[] revoked)
    {
        var list = new CertificateRevocationListBuilder();
        foreach (var certificate in revoked)
        {
            list.AddEntry(certificate, DateTimeOffset.UtcNow.AddMinutes(-1), X509RevocationReason.KeyCompromise);
        }

        return list.Build(Authority, BigInteger.One, DateTimeOffset.UtcNow.AddDays(1), HashAlgorithmName.SHA256, thisUpdate: DateTimeOffset.UtcNow.AddMinutes(-5));
    }

    /// <summary>A client certificate, in memory, valid from yesterday for <paramref name="validFor"/> (a week by default; negative: expired).</summary>
    public X509Certificate2 Client(string commonName, TimeSpan? validFor = null) =>
        Issue($"CN={commonName}", "1.3.6.1.5.5.7.3.2", extensions: [], validFor);

    /// <summary>
    /// A client certificate issued by an intermediate authority the CA certified, as a corporate PKI issues them; the
    /// intermediate is returned beside it, since only the root is trusted by whoever checks the client.
    /// </summary>
    public (X509Certificate2 Client, X509Certificate2 Intermediate) ClientThroughIntermediate(string commonName)
    {
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Gateway Test Intermediate CA", intermediateKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Authority, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var issued = request.Create(Authority, DateTimeOffset.UtcNow.AddDays(-20), DateTimeOffset.UtcNow.AddDays(50), RandomNumberGenerator.GetBytes(8));
        using var intermediate = issued.CopyWithPrivateKey(intermediateKey);
        return (Issue($"CN={commonName}", "1.3.6.1.5.5.7.3.2", extensions: [], issuer: intermediate), X509CertificateLoader.LoadCertificate(issued.RawData));
    }

    /// <summary>
    /// Writes a certificate as PEM, followed by <paramref name="chain"/> (intermediates, leaf first as TLS sends them),
    /// its key beside it or in the same file, encrypted with <paramref name="keyPassword"/> when given; returns (certificate, key) paths.
    /// </summary>
    public (string Certificate, string Key) Write(X509Certificate2 certificate, string name, bool keyInSameFile = false, string? keyPassword = null,
        params X509Certificate2[] chain)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("The certificate has no ECDSA key.");
        var certificatePath = Path.Combine(Directory, name + ".pem");
        var keyPath = keyInSameFile ? certificatePath : Path.Combine(Directory, name + ".key");
        var keyPem = keyPassword is null
            ? key.ExportPkcs8PrivateKeyPem()
            : key.ExportEncryptedPkcs8PrivateKeyPem(keyPassword, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 10_000));
        var certificatePem = string.Join("\n", chain.Prepend(certificate).Select(c => c.ExportCertificatePem()));
        Replace(certificatePath, keyInSameFile ? certificatePem + "\n" + keyPem : certificatePem);
        if (!keyInSameFile)
        {
            Replace(keyPath, keyPem);
        }

        return (certificatePath, keyPath);
    }

    /// <summary>Replaces a file's content and moves its write time on, as a rotation does (whatever the file system's clock granularity).</summary>
    public static void Replace(string path, string content)
    {
        var before = File.Exists(path) ? File.GetLastWriteTimeUtc(path) : DateTime.MinValue;
        File.WriteAllText(path, content);
        if (File.GetLastWriteTimeUtc(path) <= before)
        {
            File.SetLastWriteTimeUtc(path, before.AddSeconds(1));
        }
    }

    public void Dispose()
    {
        Authority.Dispose();
        _caKey.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private X509Certificate2 Issue(string subject, string usage, X509Extension[] extensions, TimeSpan? validFor = null, X509Certificate2? issuer = null)
    {
        issuer ??= Authority;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        foreach (var extension in extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        var notAfter = DateTimeOffset.UtcNow + (validFor ?? TimeSpan.FromDays(7));
        using var issued = request.Create(issuer, DateTimeOffset.UtcNow.AddDays(-10), notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }
}
