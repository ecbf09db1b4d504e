using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Credentials.Tests;

internal static class Fixtures
{
    public static readonly DateTimeOffset Now = new(2030, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public static SigningAuthority Authority(string name = "as1") => SigningAuthority.Create(name, Now.AddDays(-30));

    public static X509Certificate2 IssueFresh(
        SigningAuthority authority,
        CertificateKind kind,
        string subject = "alice",
        DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null)
    {
        using var key = LeafKey.Create();
        return authority.Issue(kind, subject, key.SubjectPublicKeyInfo, notBefore ?? Now.AddHours(-1), notAfter ?? Now.AddDays(30));
    }

    /// <summary>Signs a certificate with the authority's real key but outside <see cref="SigningAuthority.Issue"/>,
    /// to craft certificates the profile would never produce.</summary>
    public static X509Certificate2 SignRaw(SigningAuthority authority, CertificateRequest request, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var caKey = ECDsa.Create();
        caKey.ImportPkcs8PrivateKey(authority.ExportPkcs8PrivateKey(), out _);
        return request.Create(
            authority.Certificate.SubjectName,
            X509SignatureGenerator.CreateForECDsa(caKey),
            notBefore,
            notAfter,
            [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
    }
}
