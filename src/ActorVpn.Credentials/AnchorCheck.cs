using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Credentials;

/// <summary>
/// Judges a certificate against a bare trust anchor: a CA certificate whose private key is not at hand,
/// such as the certificate of a signing key an auth server has retired. The same checks as
/// <see cref="SigningAuthority.Verify(KnownCertificate, CertificateKind, DateTimeOffset)"/>.
/// </summary>
public static class AnchorCheck
{
    public static CertificateVerdict Verify(KnownCertificate presented, X509Certificate2 anchor, CertificateKind expectedKind, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(presented);
        ArgumentNullException.ThrowIfNull(anchor);
        return CertificateCheck.Verify(presented, KnownCertificate.Of(anchor), anchor, expectedKind, expectedName: null, now);
    }
}
