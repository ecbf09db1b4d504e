using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Credentials;

/// <summary>What a certificate says about itself. Says nothing about whether it is genuine: use
/// <see cref="SigningAuthority.Verify"/> or <see cref="ProxyIdentity.VerifyAgainstAnchor"/> for that.</summary>
public static class CertificateFacts
{
    /// <summary>The subject's common name (CN). Throws <see cref="CredentialException"/> when there is not exactly one.</summary>
    public static string SubjectName(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return TrySubjectName(certificate)
            ?? throw new CredentialException("The certificate's subject does not have exactly one common name (CN).");
    }

    /// <summary>
    /// The serial number's content octets (big-endian, as DER encodes the INTEGER), read straight from the
    /// DER without building an <see cref="X509Certificate2"/> (RFC 5280 §4.1: Certificate → tbsCertificate →
    /// optional [0] version → serialNumber). For replaying journalled certificates, which were checked when
    /// they were issued: a hundred times cheaper than loading each one. Throws <see cref="CredentialException"/>
    /// when the data is not a certificate.
    /// </summary>
    public static ReadOnlyMemory<byte> SerialNumberOf(ReadOnlyMemory<byte> certificateDer)
    {
        try
        {
            var certificate = new AsnReader(certificateDer, AsnEncodingRules.DER).ReadSequence();
            var toBeSigned = certificate.ReadSequence();
            if (toBeSigned.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
            {
                toBeSigned.ReadEncodedValue(); // version
            }

            return toBeSigned.ReadIntegerBytes();
        }
        catch (AsnContentException e)
        {
            throw new CredentialException("The data is not a DER-encoded X.509 certificate.", e);
        }
    }

    /// <summary>The kind the certificate claims (OU, extended key usage, not a CA), or null when it is no ActorVpn leaf certificate.</summary>
    public static CertificateKind? KindOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        try
        {
            return ReadKind(certificate);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    internal static string? TrySubjectName(X509Certificate2 certificate) =>
        SingleAttribute(certificate.SubjectName, Profile.CommonNameOid);

    internal static CertificateKind? ReadKind(X509Certificate2 certificate)
    {
        var subject = certificate.SubjectName;
        if (SingleAttribute(subject, Profile.OrganizationOid) != Profile.Organization)
        {
            return null;
        }

        var unit = SingleAttribute(subject, Profile.OrganizationalUnitOid);
        if (unit is null || Profile.KindOfUnit(unit) is not { } kind)
        {
            return null;
        }

        var basic = certificate.Extensions.OfType<X509BasicConstraintsExtension>().SingleOrDefault();
        if (basic is null || basic.CertificateAuthority)
        {
            return null;
        }

        var usage = certificate.Extensions.OfType<X509KeyUsageExtension>().SingleOrDefault();
        if (usage is null || usage.KeyUsages != X509KeyUsageFlags.DigitalSignature)
        {
            return null;
        }

        var eku = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().SingleOrDefault();
        if (eku is null)
        {
            return null;
        }

        var present = eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).Order(StringComparer.Ordinal);
        var expected = Profile.UsagesOf(kind).Order(StringComparer.Ordinal);
        return present.SequenceEqual(expected) ? kind : null;
    }

    internal static IEnumerable<string> DnsNames(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames());

    /// <summary>The value of the one attribute of this type, or null when it is absent, repeated or multi-valued.</summary>
    private static string? SingleAttribute(X500DistinguishedName name, string oid)
    {
        string? found = null;
        foreach (var rdn in name.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.HasMultipleElements)
            {
                return null;
            }

            if (rdn.GetSingleElementType().Value != oid)
            {
                continue;
            }

            if (found is not null)
            {
                return null;
            }

            found = rdn.GetSingleElementValue();
            if (found is null)
            {
                return null;
            }
        }

        return found;
    }
}
