using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gateway.Core.Forwarding;

namespace Gateway.Core.Routing.Validation;

/// <summary>
/// A cluster's connection settings. The certificate files are loaded as they will be on the first connection, so a
/// missing file, a key that is not the certificate's or a bundle without a certificate stops the start, not every
/// request after it. An error names the key and the file, never what the file holds.
/// </summary>
internal static class ClusterHttpClientValidator
{
    public static void Validate(string key, ClusterHttpClientConfig config, List<string> errors)
    {
        if (config.MaxConnectionsPerServer is < 1)
        {
            errors.Add($"{key}:MaxConnectionsPerServer: must be at least 1 (leave it out for no limit).");
        }

        // SSL 3, TLS 1.0 and 1.1 are broken and refused by current TLS libraries anyway: naming one is a mistake to
        // report, not a wish to honour by falling back to them.
        if (config.SslProtocols is { } protocols && (protocols & ~(SslProtocols.Tls12 | SslProtocols.Tls13)) != SslProtocols.None)
        {
            errors.Add($"{key}:SslProtocols: only Tls12 and Tls13 may be offered ('{protocols}' names an older version).");
        }

        if (config.DangerousAcceptAnyServerCertificate && config.CertificateRevocationCheckMode != X509RevocationMode.NoCheck)
        {
            errors.Add($"{key}: DangerousAcceptAnyServerCertificate checks no certificate, so CertificateRevocationCheckMode would never be used; set one of them.");
        }

        if (config.DangerousAcceptAnyServerCertificate && !string.IsNullOrEmpty(config.CaCertificatePath))
        {
            errors.Add($"{key}: DangerousAcceptAnyServerCertificate checks no certificate, so CaCertificatePath would never be used; set one of them.");
        }

        if (!string.IsNullOrEmpty(config.CaCertificatePath))
        {
            Check($"{key}:CaCertificatePath", config.CaCertificatePath, () => PemFiles.LoadAuthorities(config.CaCertificatePath), errors);
        }

        if (string.IsNullOrEmpty(config.ClientCertificatePath))
        {
            if (!string.IsNullOrEmpty(config.ClientKeyPath))
            {
                errors.Add($"{key}:ClientKeyPath: a key without ClientCertificatePath is never used.");
            }

            if (!string.IsNullOrEmpty(config.ClientKeyPassword))
            {
                errors.Add($"{key}:ClientKeyPassword: a password without ClientCertificatePath is never used.");
            }

            return;
        }

        if (!string.IsNullOrEmpty(config.ClientKeyPath) && !File.Exists(config.ClientKeyPath))
        {
            errors.Add($"{key}:ClientKeyPath: file '{config.ClientKeyPath}' does not exist.");
            return;
        }

        var keyNote = (string.IsNullOrEmpty(config.ClientKeyPath) ? " with its key in the same file" : " with the key in ClientKeyPath")
            + (string.IsNullOrEmpty(config.ClientKeyPassword) ? " (an encrypted key needs ClientKeyPassword)" : " decrypted with ClientKeyPassword");
        Check($"{key}:ClientCertificatePath", config.ClientCertificatePath,
            () => PemFiles.LoadClientCertificate(config.ClientCertificatePath, config.ClientKeyPath, config.ClientKeyPassword).Dispose(), errors, keyNote);
    }

    private static void Check(string key, string path, Action load, List<string> errors, string what = "")
    {
        if (!File.Exists(path))
        {
            errors.Add($"{key}: file '{path}' does not exist.");
            return;
        }

        try
        {
            load();
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            errors.Add($"{key}: '{path}' could not be loaded as a PEM certificate{what}: {ex.Message.TrimEnd('.')}.");
        }
    }
}
