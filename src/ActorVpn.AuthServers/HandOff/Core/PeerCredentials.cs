using System.Collections.Immutable;
using System.Security.Cryptography;
using ActorVpn.Credentials;

namespace ActorVpn.AuthServers.HandOff.Core;

/// <summary>Which inter-server credentials (【0023】) this server accepts from a caller.</summary>
public static class PeerCredentials
{
    /// <summary>The credential issued to <paramref name="caller"/>, or an earlier one for the same key (a renewal's overlap).</summary>
    public static bool IsIssuedTo(ImmutableSortedDictionary<string, byte[]> issued, string caller, byte[] presented) =>
        issued.TryGetValue(caller, out var der) && (der.AsSpan().SequenceEqual(presented) || SameSubjectKey(der, presented));

    private static bool SameSubjectKey(byte[] issuedDer, byte[] presentedDer)
    {
        try
        {
            using var issued = CertificateText.FromDer(issuedDer);
            using var presented = CertificateText.FromDer(presentedDer);
            return issued.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(presented.PublicKey.ExportSubjectPublicKeyInfo());
        }
        catch (Exception e) when (e is CredentialException or CryptographicException)
        {
            return false;
        }
    }
}
