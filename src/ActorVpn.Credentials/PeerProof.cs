using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ActorVpn.Credentials;

/// <summary>Proof of possession for inter-server calls (patent 【0023】, Fig. 9 steps 905/906): the caller signs a
/// fresh nonce from the callee and a binding (e.g. the request) with the private key certified by the credential the
/// callee issued. Signed message: "actorvpn/peer-proof/v1" || len(nonce) || nonce || len(binding) || binding, lengths
/// as 4-byte big-endian, so no two (nonce, binding) pairs share a message. Verify checks only the signature: check the
/// credential itself with <see cref="SigningAuthority.Verify"/> first.</summary>
public static class PeerProof
{
    public const int NonceLength = 32;
    private const int MinNonceLength = 16;
    private static readonly byte[] Label = Encoding.ASCII.GetBytes("actorvpn/peer-proof/v1");

    /// <param name="signData">SigningAuthority.SignData or LeafKey.SignData.</param>
    public static byte[] Sign(Func<byte[], byte[]> signData, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> binding)
    {
        ArgumentNullException.ThrowIfNull(signData);
        if (nonce.Length < MinNonceLength)
        {
            throw new ArgumentException($"A nonce must have at least {MinNonceLength} bytes; use {nameof(NewNonce)}.", nameof(nonce));
        }

        return signData(Message(nonce, binding));
    }

    /// <summary>True only when <paramref name="signature"/> is the credential key's signature over this nonce and
    /// binding. False, never an exception, for anything else.</summary>
    public static bool Verify(X509Certificate2 credential, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> binding, ReadOnlySpan<byte> signature)
    {
        if (credential is null || nonce.Length < MinNonceLength || signature.IsEmpty)
        {
            return false;
        }

        try
        {
            using var key = credential.GetECDsaPublicKey();
            if (key is null || !Profile.IsP256(key))
            {
                return false;
            }

            return key.VerifyData(Message(nonce, binding), signature, Profile.Hash);
        }
        catch (CryptographicException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>As <see cref="Verify(X509Certificate2, ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>, with
    /// the credential's public key imported once (a fresh signature over a fresh nonce is still checked every time).</summary>
    public static bool VerifyKnown(KnownCertificate credential, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> binding, ReadOnlySpan<byte> signature)
    {
        if (credential is null || nonce.Length < MinNonceLength || signature.IsEmpty)
        {
            return false;
        }

        try
        {
            return credential.VerifyWithPublicKey(Message(nonce, binding), signature);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    public static byte[] NewNonce() => RandomNumberGenerator.GetBytes(NonceLength);

    private static byte[] Message(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> binding)
    {
        var message = new byte[Label.Length + 4 + nonce.Length + 4 + binding.Length];
        var span = message.AsSpan();
        Label.CopyTo(span);
        span = span[Label.Length..];
        BinaryPrimitives.WriteInt32BigEndian(span, nonce.Length);
        nonce.CopyTo(span[4..]);
        span = span[(4 + nonce.Length)..];
        BinaryPrimitives.WriteInt32BigEndian(span, binding.Length);
        binding.CopyTo(span[4..]);
        return message;
    }
}
