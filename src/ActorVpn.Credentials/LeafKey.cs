using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Credentials;

/// <summary>A leaf ECDSA P-256 key pair (for users, proxies, operators, inter-server identities).</summary>
public sealed class LeafKey : IDisposable
{
    private readonly ECDsa _key;
    private readonly byte[] _subjectPublicKeyInfo;
    private bool _disposed;

    private LeafKey(ECDsa key)
    {
        _key = key;
        _subjectPublicKeyInfo = key.ExportSubjectPublicKeyInfo();
    }

    /// <summary>DER SubjectPublicKeyInfo (a fresh copy), to hand to <see cref="SigningAuthority.Issue"/>.</summary>
    public byte[] SubjectPublicKeyInfo => (byte[])_subjectPublicKeyInfo.Clone();

    public static LeafKey Create() => new(Profile.NewP256Key());

    /// <summary>Imports an unencrypted PKCS#8 ECDSA P-256 key; throws <see cref="CredentialException"/> otherwise.</summary>
    public static LeafKey ImportPkcs8(ReadOnlySpan<byte> pkcs8) => new(Profile.ImportP256Pkcs8(pkcs8));

    public byte[] ExportPkcs8PrivateKey()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _key.ExportPkcs8PrivateKey();
    }

    /// <summary>A copy of <paramref name="certificate"/> with this private key attached, usable as an SslStream
    /// certificate. Throws <see cref="CredentialException"/> when the certificate is for another key.</summary>
    public X509Certificate2 AttachTo(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            if (!certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(_subjectPublicKeyInfo))
            {
                throw new CredentialException("The certificate was issued for another key.");
            }

            return certificate.CopyWithPrivateKey(_key);
        }
        catch (CryptographicException e)
        {
            throw new CredentialException("The private key could not be attached to the certificate.", e);
        }
    }

    /// <summary>ECDSA P-256 / SHA-256 signature, IEEE P1363 format (r || s, 64 bytes).</summary>
    public byte[] SignData(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _key.SignData(data, Profile.Hash);
    }

    /// <summary>Same as the span overload; lets the method group be passed as <c>Func&lt;byte[], byte[]&gt;</c>
    /// (e.g. to <see cref="PeerProof.Sign"/>).</summary>
    public byte[] SignData(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return SignData(data.AsSpan());
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _key.Dispose();
    }
}
