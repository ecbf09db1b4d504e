using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Credentials;

/// <summary>PEM and DER in and out, for profile files. Readers take the first block with the right label, so a
/// file holding both a certificate and a key can be given to either.</summary>
public static class CertificateText
{
    private const string CertificateLabel = "CERTIFICATE";
    private const string PrivateKeyLabel = "PRIVATE KEY";

    public static string ToPem(X509Certificate2 cert)
    {
        ArgumentNullException.ThrowIfNull(cert);
        return PemEncoding.WriteString(CertificateLabel, cert.RawDataMemory.Span);
    }

    public static X509Certificate2 FromPem(string pem)
    {
        var der = ReadPemBlock(pem, CertificateLabel, "certificate");
        return FromDer(der);
    }

    /// <summary>Reads exactly one DER-encoded X.509 certificate (no PEM, no trailing bytes).</summary>
    public static X509Certificate2 FromDer(ReadOnlySpan<byte> der)
    {
        if (der.IsEmpty || der[0] != 0x30)
        {
            throw new CredentialException("The data is not a DER-encoded X.509 certificate.");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException e)
        {
            throw new CredentialException("The data is not a DER-encoded X.509 certificate.", e);
        }

        if (certificate.RawDataMemory.Length != der.Length)
        {
            certificate.Dispose();
            throw new CredentialException("The certificate has trailing data after its DER encoding.");
        }

        return certificate;
    }

    public static string PrivateKeyToPem(ReadOnlySpan<byte> pkcs8) => PemEncoding.WriteString(PrivateKeyLabel, pkcs8);

    /// <summary>The PKCS#8 bytes of the first "PRIVATE KEY" block (not checked to be a key; importing does that).</summary>
    public static byte[] PrivateKeyFromPem(string pem) => ReadPemBlock(pem, PrivateKeyLabel, "private key");

    private static byte[] ReadPemBlock(string pem, string label, string what)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            if (rest[fields.Label].SequenceEqual(label))
            {
                var der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(rest[fields.Base64Data], der, out var written) || written != der.Length)
                {
                    throw new CredentialException($"The PEM {what} block has invalid base64 content.");
                }

                return der;
            }

            rest = rest[fields.Location.End..];
        }

        throw new CredentialException($"The text holds no PEM {what} (no '-----BEGIN {label}-----' block).");
    }
}
