using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Credentials;

/// <summary>A leaf ECDSA P-256 key pair (for users, proxies, operators, inter-server identities).</summary>
public sealed class LeafKey : EcdsaKeyOwner
{
    private LeafKey(ECDsa key)
        : base(key)
    {
    }

    public static LeafKey Create() => new(Profile.NewP256Key());

    /// <summary>Imports an unencrypted PKCS#8 ECDSA P-256 key; throws <see cref="CredentialException"/> otherwise.</summary>
    public static LeafKey ImportPkcs8(ReadOnlySpan<byte> pkcs8) => new(Profile.ImportP256Pkcs8(pkcs8));

    /// <summary>A certificate and its private key from the PEM text of a profile file, as TLS presents them.</summary>
    public static X509Certificate2 CertificateWithKey(string certificatePem, string privateKeyPem)
    {
        using var certificate = CertificateText.FromPem(certificatePem);
        using var key = ImportPkcs8(CertificateText.PrivateKeyFromPem(privateKeyPem));
        return key.AttachTo(certificate);
    }

    /// <summary>A copy of <paramref name="certificate"/> with this private key attached, usable as an SslStream
    /// certificate. Throws <see cref="CredentialException"/> when the certificate is for another key.</summary>
    public X509Certificate2 AttachTo(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ThrowIfDisposed();
        try
        {
            if (!certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(SubjectPublicKeyInfoSpan))
            {
                throw new CredentialException("The certificate was issued for another key.");
            }

            return certificate.CopyWithPrivateKey(Key);
        }
        catch (CryptographicException e)
        {
            throw new CredentialException("The private key could not be attached to the certificate.", e);
        }
    }
}
