using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Unit;

/// <summary>
/// A cluster's connection settings are checked at start-up with the files they name loaded as the first handshake
/// will load them; each mistake names its key and the file, never the file's content.
/// </summary>
public sealed class ClusterHttpClientValidationTests : IDisposable
{
    private const string Key = "Gateway:Clusters:quote-service:HttpClient";
    private const string Password = "pkcs8-pass-2026";
    private readonly TestCertificates _certificates = new();
    private readonly string _certificate;
    private readonly string _key;
    private readonly string _otherKey;
    private readonly string _both;
    private readonly string _notPem;
    private readonly string _encryptedKey;

    public ClusterHttpClientValidationTests()
    {
        using var client = _certificates.Client("gateway-client");
        (_certificate, _key) = _certificates.Write(client, "client");
        using var other = _certificates.Client("other");
        (_, _otherKey) = _certificates.Write(other, "other");
        (_both, _) = _certificates.Write(client, "both", keyInSameFile: true);
        (_, _encryptedKey) = _certificates.Write(client, "encrypted", keyPassword: Password);
        _notPem = Path.Combine(_certificates.Directory, "notes.txt");
        File.WriteAllText(_notPem, "not a certificate");
    }

    public void Dispose() => _certificates.Dispose();

    private string[] Errors(params (string Key, object Value)[] settings)
    {
        var config = ConfigValidationTests.Valid();
        foreach (var (key, value) in settings)
        {
            config.Set($"{Key}:{key}", value);
        }

        return ConfigValidationTests.Errors(config);
    }

    [Fact]
    public void Trust_a_client_certificate_with_its_key_beside_or_inside_a_connection_cap_TLS_versions_and_revocation_checks_pass()
    {
        Errors(("CaCertificatePath", _certificates.AuthorityPath), ("ClientCertificatePath", _certificate), ("ClientKeyPath", _key), ("MaxConnectionsPerServer", 64))
            .Should().BeEmpty();
        Errors(("ClientCertificatePath", _both)).Should().BeEmpty();
        Errors(("DangerousAcceptAnyServerCertificate", true)).Should().BeEmpty();
        Errors(("SslProtocols", "Tls12, Tls13"), ("CertificateRevocationCheckMode", "Online")).Should().BeEmpty();
        Errors(("SslProtocols", "tls13"), ("CertificateRevocationCheckMode", "Offline")).Should().BeEmpty();
        Errors(("ClientCertificatePath", _certificate), ("ClientKeyPath", _encryptedKey), ("ClientKeyPassword", Password)).Should().BeEmpty();
    }

    [Theory]
    [InlineData(null, "ClientCertificatePath")]
    [InlineData("wrong-password-7", "ClientCertificatePath")]
    public void An_encrypted_key_without_its_password_is_named_and_no_password_is_quoted(string? password, string named)
    {
        var settings = new List<(string, object)> { ("ClientCertificatePath", _certificate), ("ClientKeyPath", _encryptedKey) };
        if (password is not null)
        {
            settings.Add(("ClientKeyPassword", password));
        }

        var errors = Errors([.. settings]);

        errors.Should().ContainSingle().Which.Should().StartWith($"{Key}:{named}").And.Contain("ClientKeyPassword")
            .And.NotContain(Password).And.NotContain(password ?? Password).And.NotContain("ENCRYPTED PRIVATE KEY");
    }

    public static TheoryData<string, string> Mistakes => new()
    {
        { "MaxConnectionsPerServer=0", "MaxConnectionsPerServer" },
        { "CaCertificatePath=missing", "CaCertificatePath" },
        { "CaCertificatePath=notPem", "CaCertificatePath" },
        { "ClientCertificatePath=missing", "ClientCertificatePath" },
        { "ClientCertificatePath=certificate", "ClientCertificatePath" },
        { "ClientCertificatePath=certificate ClientKeyPath=otherKey", "ClientCertificatePath" },
        { "ClientCertificatePath=certificate ClientKeyPath=missing", "ClientKeyPath" },
        { "ClientKeyPath=key", "ClientKeyPath" },
        { "ClientKeyPassword=secret-9", "ClientKeyPassword" },
        { "DangerousAcceptAnyServerCertificate=true CaCertificatePath=authority", "HttpClient:" },
        { "SslProtocols=Tls11", "SslProtocols" },
        { "SslProtocols=Tls12,Ssl3", "SslProtocols" },
        { "DangerousAcceptAnyServerCertificate=true CertificateRevocationCheckMode=Online", "CertificateRevocationCheckMode" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void Each_mistake_is_named_by_its_key_without_quoting_the_files(string settings, string named)
    {
        var errors = Errors(settings.Split(' ').Select(setting => setting.Split('=')).Select(pair => (pair[0], Resolve(pair[1]))).ToArray());

        errors.Should().ContainSingle().Which.Should().StartWith($"{Key}:").And.Contain(named);
        errors[0].Should().NotContain("PRIVATE KEY").And.NotContain(File.ReadAllText(_key).Split('\n')[1], "a key's content never reaches a log");
    }

    private object Resolve(string value) => value switch
    {
        "missing" => Path.Combine(_certificates.Directory, "missing.pem"),
        "notPem" => _notPem,
        "certificate" => _certificate,
        "key" => _key,
        "otherKey" => _otherKey,
        "authority" => _certificates.AuthorityPath,
        _ => value,
    };
}
