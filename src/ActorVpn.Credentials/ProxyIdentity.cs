using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Credentials;

/// <summary>The client's check of a proxy's TLS certificate.</summary>
public static class ProxyIdentity
{
    /// <summary>Issued by <paramref name="anchor"/>, kind Proxy, CN and a SAN DNS name equal to
    /// <paramref name="expectedProxyName"/> (ASCII case-insensitive), valid at <paramref name="now"/>.
    /// A genuine proxy certificate for another proxy name is <see cref="CertificateVerdict.WrongKind"/>.</summary>
    public static CertificateVerdict VerifyAgainstAnchor(
        X509Certificate2 presented,
        X509Certificate2 anchor,
        string expectedProxyName,
        DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(expectedProxyName);
        return CertificateCheck.Verify(presented, anchor, CertificateKind.Proxy, expectedProxyName, now);
    }
}
