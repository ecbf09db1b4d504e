using System.Security.Cryptography;

namespace ActorVpn.Credentials;

/// <summary>
/// Owns one ECDSA P-256 private key: signs with it, exports it, and disposes it. The common part of
/// <see cref="LeafKey"/> and <see cref="SigningAuthority"/>; the key never leaves except by an explicit export.
/// </summary>
public abstract class EcdsaKeyOwner : IDisposable
{
    private readonly byte[] _subjectPublicKeyInfo;
    private bool _disposed;

    private protected EcdsaKeyOwner(ECDsa key)
    {
        Key = key;
        _subjectPublicKeyInfo = key.ExportSubjectPublicKeyInfo();
    }

    /// <summary>DER SubjectPublicKeyInfo (a fresh copy), e.g. to hand to <see cref="SigningAuthority.Issue"/>.</summary>
    public byte[] SubjectPublicKeyInfo => (byte[])_subjectPublicKeyInfo.Clone();

    private protected ECDsa Key { get; }

    private protected ReadOnlySpan<byte> SubjectPublicKeyInfoSpan => _subjectPublicKeyInfo;

    public byte[] ExportPkcs8PrivateKey()
    {
        ThrowIfDisposed();
        return Key.ExportPkcs8PrivateKey();
    }

    /// <summary>ECDSA P-256 / SHA-256 signature, IEEE P1363 format (r || s, 64 bytes).</summary>
    public byte[] SignData(ReadOnlySpan<byte> data)
    {
        ThrowIfDisposed();
        return Key.SignData(data, Profile.Hash);
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
        Key.Dispose();
        DisposeMore();
        GC.SuppressFinalize(this);
    }

    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Releases what a derived owner holds besides the key.</summary>
    private protected virtual void DisposeMore()
    {
    }
}
