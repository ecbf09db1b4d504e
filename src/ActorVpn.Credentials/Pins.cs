using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorVpn.Credentials;

/// <summary>SPKI pins: base64 of SHA-256 over the DER SubjectPublicKeyInfo (as in HPKP / curl's --pinnedpubkey).</summary>
public static class Pins
{
    private const int PinLength = 32;

    public static string SpkiSha256(X509Certificate2 cert)
    {
        ArgumentNullException.ThrowIfNull(cert);
        return Convert.ToBase64String(Hash(cert));
    }

    /// <summary>True when the certificate's key has this pin. Constant-time over the hash; false for a malformed pin.</summary>
    public static bool Matches(X509Certificate2 cert, string pin)
    {
        ArgumentNullException.ThrowIfNull(cert);
        if (string.IsNullOrEmpty(pin))
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[PinLength];
        if (!Convert.TryFromBase64String(pin, expected, out var written) || written != PinLength)
        {
            return false;
        }

        try
        {
            return CryptographicOperations.FixedTimeEquals(Hash(cert), expected);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static byte[] Hash(X509Certificate2 cert) => SHA256.HashData(cert.PublicKey.ExportSubjectPublicKeyInfo());
}
