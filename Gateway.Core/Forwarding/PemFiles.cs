using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.Core.Forwarding;

/// <summary>The PEM files a cluster's TLS reads: the same loaders check them at start-up and load them at run time.</summary>
internal static class PemFiles
{
    public static X509Certificate2Collection LoadAuthorities(string path)
    {
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(path);
        return authorities.Count > 0 ? authorities : throw new CryptographicException("the file holds no PEM certificate.");
    }

    /// <summary>
    /// The certificate the gateway presents with the intermediates its file holds after it (as cert-manager writes
    /// <c>tls.crt</c>), sent with it in the handshake: a destination that trusts only the root can chain it.
    /// </summary>
    public static ClientCertificate LoadClientCredentials(string certificatePath, string? keyPath, string? keyPassword)
    {
        var certificate = LoadClientCertificate(certificatePath, keyPath, keyPassword);
        var inFile = new X509Certificate2Collection();
        inFile.ImportFromPemFile(certificatePath);
        var intermediates = new X509Certificate2Collection(inFile.Skip(1).ToArray());
        // Without intermediates in the file, the chain is completed as before: from the system's stores, or
        // downloaded from the certificate's issuer address when it names one.
        return new ClientCertificate(certificate, SslStreamCertificateContext.Create(certificate, intermediates, offline: intermediates.Count > 0));
    }

    public static X509Certificate2 LoadClientCertificate(string certificatePath, string? keyPath, string? keyPassword)
    {
        // Throws when the key is missing or its password wrong (CryptographicException) or is not the certificate's (ArgumentException).
        var keyFile = string.IsNullOrEmpty(keyPath) ? null : keyPath;
        var certificate = string.IsNullOrEmpty(keyPassword)
            ? X509Certificate2.CreateFromPemFile(certificatePath, keyFile)
            : X509Certificate2.CreateFromEncryptedPemFile(certificatePath, keyPassword, keyFile);
        if (!OperatingSystem.IsWindows())
        {
            return certificate;
        }

        // SChannel cannot sign a handshake with an ephemeral key; OpenSSL (Linux) and macOS can.
        using (certificate)
        {
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);
        }
    }
}

/// <summary>A client certificate and what the TLS handshake presents: it and its intermediates.</summary>
internal sealed record ClientCertificate(X509Certificate2 Certificate, SslStreamCertificateContext Context);

/// <summary>
/// A value read from files and read again when one of them is written, so a certificate rotated on disk (by
/// cert-manager, a Kubernetes secret, a renewal job) is used without a restart. The write times are checked when the
/// value is read: for a destination's authorities at each handshake, for the client certificate every few seconds
/// (<see cref="UpstreamConnections"/>). A half-written rotation (a new certificate beside the old key) fails to load:
/// the last good value stays and the load is tried again at the next read.
/// </summary>
internal sealed class WatchedPemFiles<T>(string[] paths, Func<T> load, Action<T> loaded, Action<Exception> failed)
    where T : class
{
    private readonly Lock _lock = new();
    private DateTime[] _loadedStamps = [];
    private DateTime[] _failedStamps = [];
    private T? _value;

    public T? Current
    {
        get
        {
            var stamps = Array.ConvertAll(paths, File.GetLastWriteTimeUtc);
            lock (_lock)
            {
                if (stamps.AsSpan().SequenceEqual(_loadedStamps) || stamps.AsSpan().SequenceEqual(_failedStamps))
                {
                    return _value;
                }

                try
                {
                    _value = load();
                    _loadedStamps = stamps;
                    loaded(_value);
                }
                catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
                {
                    // Said once per version of the files, not once per connection.
                    _failedStamps = stamps;
                    failed(ex);
                }

                return _value;
            }
        }
    }
}
