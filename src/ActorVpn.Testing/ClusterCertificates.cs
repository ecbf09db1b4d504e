using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Testing;

/// <summary>
/// A cluster CA and a certificate per node for Akka.Remote's mutual TLS, written where a node reads them
/// (AVPN_REMOTE_TLS_CA: the CA as PEM; AVPN_REMOTE_TLS_CERTIFICATE: the node's PKCS#12), as an operator
/// makes them with openssl (k8s/README.md). ECDSA P-256, short-lived: for tests and scenarios.
/// </summary>
public sealed class ClusterCertificates : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>A CA named <paramref name="name"/>; its PEM certificate is written to <c>ca.crt</c> under <paramref name="directory"/>.</summary>
    public ClusterCertificates(string directory, string name = "actorvpn-cluster-ca")
    {
        Directory = directory;
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(2));
        CaPath = Path.Combine(directory, $"{name}.crt");
        File.WriteAllText(CaPath, Authority.ExportCertificatePem() + "\n");
    }

    public string Directory { get; }

    public X509Certificate2 Authority { get; }

    /// <summary>The CA's PEM file (AVPN_REMOTE_TLS_CA).</summary>
    public string CaPath { get; }

    /// <summary>Issues <paramref name="node"/> its own certificate (client and server use) and writes it as <c>&lt;node&gt;.pfx</c>; returns the path.</summary>
    public string IssueNode(string node, string password)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={node}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(node);
        request.CertificateExtensions.Add(names.Build());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var issued = request.Create(Authority, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        var path = Path.Combine(Directory, $"{node}.pfx");
        File.WriteAllBytes(path, withKey.Export(X509ContentType.Pfx, password));
        return path;
    }

    /// <summary>The environment a node needs for TLS with its own certificate (what a pod gets from its Secrets).</summary>
    public IReadOnlyDictionary<string, string> EnvironmentFor(string node, string password = "node-password") => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["AVPN_REMOTE_TLS"] = "on",
        ["AVPN_REMOTE_TLS_CERTIFICATE"] = IssueNode(node, password),
        ["AVPN_REMOTE_TLS_PASSWORD"] = password,
        ["AVPN_REMOTE_TLS_CA"] = CaPath,
    };

    public void Dispose()
    {
        Authority.Dispose();
        _key.Dispose();
    }
}
